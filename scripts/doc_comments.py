#!/usr/bin/env python3
"""Lists every public declaration without a `///` doc comment, as `file:line: text`; exits 1 when there is one.

  doc_comments.py [--exclude FILE]... PATH...

PATH is a Swift file or a folder (searched for *.swift). A public declaration is one marked `public` or
`open` (a type, function, initialiser, property, subscript, type alias), a requirement of a public protocol,
a member of a `public extension`, or a case of a public enum that starts its line. Its doc comment is the
`///` line (or the `*/` of a `/** */` block) right above it, attributes such as `@discardableResult` between
them allowed. Comments and string literals are skipped, so `public` inside them counts for nothing; a
declaration that does not start its line (`struct S { public init() {} }`) is not seen.
"""
import os
import re
import sys

MODIFIERS = (
    r"(?:(?:static|class|final|nonisolated|mutating|nonmutating|convenience|required|override|indirect|lazy"
    r"|dynamic|optional|consuming|borrowing|distributed|weak|unowned"
    r"|(?:private|fileprivate|internal|package)\(set\))\s+)*"
)
ATTRIBUTES = r"(?:@\w+(?:\([^)]*\))?\s+)*"
KEYWORDS = r"(?:func|var|let|struct|enum|class|actor|protocol|init|subscript|typealias|associatedtype|macro)\b"
PUBLIC_DECL = re.compile(r"^\s*" + ATTRIBUTES + r"(?:public|open)\s+" + MODIFIERS + KEYWORDS)
REQUIREMENT = re.compile(r"^\s*" + ATTRIBUTES + MODIFIERS + KEYWORDS)
ENUM_CASE = re.compile(r"^\s*(?:indirect\s+)?case\s+\w")
# The last keyword before a `{` says what the brace opens: a type (whose members are declarations) or code.
SCOPE_KEYWORD = re.compile(
    r"\b(struct|class|actor|enum|protocol|extension|func|init|deinit|subscript|var|let|get|set|willSet|didSet"
    r"|if|else|guard|for|while|repeat|do|catch|switch|defer|in|return)\b"
)


def code_only(src):
    """`src` with comments and string literals blanked to spaces, line breaks kept (same length, same lines)."""
    out = list(src)
    n = len(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    def string_start(i):
        """Whether a string literal starts at `i`: a quote, after any `#`s of a raw string."""
        j = i
        while j < n and src[j] == "#":
            j += 1
        return j < n and src[j] == '"'

    def end_of_comment(i):
        if src.startswith("//", i):
            j = src.find("\n", i)
            return n if j < 0 else j
        depth, j = 0, i
        while j < n:
            if src.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif src.startswith("*/", j):
                depth, j = depth - 1, j + 2
                if depth == 0:
                    return j
            else:
                j += 1
        return n

    def end_of_string(i):
        j, hashes = i, 0
        while src[j] == "#":
            hashes, j = hashes + 1, j + 1
        quote = '"""' if src.startswith('"""', j) else '"'
        j += len(quote)
        close, escape = quote + "#" * hashes, "\\" + "#" * hashes
        while j < n:
            if src.startswith(escape, j):
                j += len(escape)
                if j < n and src[j] == "(":
                    j = end_of_interpolation(j + 1)
                else:
                    j += 1
            elif src.startswith(close, j):
                return j + len(close)
            elif quote == '"' and src[j] == "\n":
                return j
            else:
                j += 1
        return n

    def end_of_interpolation(j):
        depth = 1
        while j < n:
            if src.startswith("//", j) or src.startswith("/*", j):
                j = end_of_comment(j)
            elif string_start(j):
                j = end_of_string(j)
            elif src[j] == "(":
                depth, j = depth + 1, j + 1
            elif src[j] == ")":
                depth, j = depth - 1, j + 1
                if depth == 0:
                    return j
            else:
                j += 1
        return n

    i = 0
    while i < n:
        if src.startswith("//", i) or src.startswith("/*", i):
            end = end_of_comment(i)
        elif string_start(i):
            end = end_of_string(i)
        else:
            i += 1
            continue
        blank(i, end)
        i = end
    return "".join(out)


def has_doc_comment(lines, index):
    j = index - 1
    while j >= 0 and lines[j].strip().startswith("@"):
        j -= 1
    above = lines[j].strip() if j >= 0 else ""
    return above.startswith("///") or (above.endswith("*/") and not above.startswith("//"))


def undocumented(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    lines = src.split("\n")
    code = code_only(src).split("\n")
    # Each open brace: (kind, public), where kind is the type keyword that opened it, or None for code.
    scopes = []
    header = ""
    found = []
    for number, line in enumerate(code, start=1):
        enclosing = scopes[-1] if scopes else (None, False)
        is_public_type_scope = enclosing[1]
        if PUBLIC_DECL.match(line):
            found.append(number)
        elif is_public_type_scope and enclosing[0] in ("protocol", "extension") and REQUIREMENT.match(line):
            found.append(number)
        elif is_public_type_scope and enclosing[0] == "enum" and ENUM_CASE.match(line):
            found.append(number)
        for c in line:
            if c == "{":
                keywords = list(SCOPE_KEYWORD.finditer(header))
                kind, public = None, False
                if keywords and keywords[-1].group(1) in ("struct", "class", "actor", "enum", "protocol", "extension"):
                    kind = keywords[-1].group(1)
                    # The declaration the brace opens starts on the line of its keyword.
                    declaration = header[header.rfind("\n", 0, keywords[-1].start()) + 1 :]
                    public = re.search(r"\b(public|open)\b", declaration) is not None
                scopes.append((kind, public))
                header = ""
            elif c == "}":
                if scopes:
                    scopes.pop()
                header = ""
            else:
                header += c
        header += "\n"
    return [(n, lines[n - 1].strip()) for n in found if not has_doc_comment(lines, n - 1)]


def main(argv):
    excluded, paths = set(), []
    args = iter(argv)
    for arg in args:
        if arg == "--exclude":
            excluded.add(os.path.normpath(next(args, "")))
        else:
            paths.append(arg)
    files = []
    for path in paths:
        if os.path.isdir(path):
            for folder, _, names in os.walk(path):
                files += [os.path.join(folder, name) for name in names if name.endswith(".swift")]
        else:
            files.append(path)
    missing = 0
    for path in sorted(os.path.normpath(p) for p in files):
        if path in excluded:
            continue
        for number, text in undocumented(path):
            print(f"{path}:{number}: public declaration without a doc comment: {text}")
            missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
