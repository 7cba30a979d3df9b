#!/usr/bin/env python3
"""Recompute SelfCare record hashes from `selfcare records list` (JSON Lines) on stdin."""
import hashlib, json, sys

def json_string(s):  # as jsonString() in ServiceRecord.swift
    esc = {'"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'}
    return '"' + ''.join(
        esc.get(c) or ('\\u%04x' % ord(c) if ord(c) < 0x20 or c in '\u2028\u2029' else c) for c in s) + '"'

def record_hash(r):
    inputs = '{' + ','.join(json_string(k) + ':' + json_string(v) for k, v in sorted(r['inputs'].items())) + '}'
    fields = [('selfcare-record-v1', None), ('prev_hash', r['prev_hash']), ('id', str(r['id'])),
              ('time', r['time']), ('channel', r['channel']), ('session', r['session']),
              ('caller', r['caller']), ('subject', r['subject']), ('operation', r['operation']),
              ('inputs', inputs), ('auth', r['auth']), ('result', r['result']), ('reason', r['reason']),
              ('reply', r['reply']), ('duration_ms', str(r['duration_ms']))]
    data = b''
    for name, value in fields:
        data += name.encode()
        data += b':-:' if value is None else b':%d:' % len(value.encode()) + value.encode()
        data += b'\n'
    return hashlib.sha256(data).hexdigest()

# The last hash of each chain so far (one chain on SQLite, several on PostgreSQL, listed interleaved in id
# order): each record must follow the last record of its chain, or start a chain.
genesis, ends = '0' * 64, set()
for line in sys.stdin:
    r = json.loads(line)
    ok = (r['prev_hash'] == genesis or r['prev_hash'] in ends) and record_hash(r) == r['hash']
    print(r['id'], 'ok' if ok else 'BROKEN')
    ends.discard(r['prev_hash'])
    ends.add(r['hash'])
