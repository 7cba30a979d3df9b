import SelfCareCore

/// What a text matched: the operation, its slots, and the secrets among them.
public struct GrammarMatch: Sendable, CustomStringConvertible {
    /// An operation, or a channel operation such as `help` or `confirm`.
    public var operation: OperationName
    /// Slot values that are not secret (`plan`, `month`, `when`, `subject`).
    public var slots: [String: String]
    /// Password slots; never shown.
    public var secrets: [String: Secret]
    /// The language the text was written in, when the grammar says (`{lang = en}`).
    public var language: Language?
    /// Where each verbatim slot's value lies in the text, in scalars (filled in from the unfolded text).
    var verbatimRanges: [String: Range<Int>] = [:]

    public var description: String {
        "\(operation) \(slots.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
            + (secrets.isEmpty ? "" : " " + secrets.keys.sorted().map { "\($0)=<redacted>" }.joined(separator: " "))
            + (language.map { " lang=\($0)" } ?? "")
    }
}

extension CompiledGrammar {
    /// Matches customer text against the root rule; nil when it does not match.
    ///
    /// The text is folded first (full-width to half-width, ASCII to upper case); separators between
    /// tokens are optional, and surrounding ones are ignored.
    public func match(_ text: String) -> GrammarMatch? {
        guard !program.isEmpty else { return nil }
        // Folded into a temporary buffer (on the stack for short texts): no array per message.
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: max(1, text.utf8.count)) { buffer in
            var n = 0
            for scalar in text.unicodeScalars {
                buffer[n] = TextNormalizer.fold(scalar.value)
                n += 1
            }
            let input = UnsafeBufferPointer(rebasing: buffer[0..<n])
            return program.withUnsafeBufferPointer { code in
                literalPool.withUnsafeBufferPointer { pool in
                    guard var match = run(input, code, pool) else { return nil }
                    // Free text keeps the customer's own characters: the same positions in the unfolded text
                    // (folding maps one scalar to one).
                    for (name, range) in match.verbatimRanges {
                        let scalars = text.unicodeScalars
                        let start = scalars.index(scalars.startIndex, offsetBy: range.lowerBound)
                        let end = scalars.index(start, offsetBy: range.count)
                        match.slots[name] = String(String.UnicodeScalarView(scalars[start..<end]))
                    }
                    match.verbatimRanges = [:]
                    return match
                }
            }
        }
    }

    /// Matches already folded scalars (`TextNormalizer.normalize`).
    public func match(normalized input: [UInt32]) -> GrammarMatch? {
        guard !program.isEmpty else { return nil }
        return input.withUnsafeBufferPointer { buffer in
            program.withUnsafeBufferPointer { code in
                literalPool.withUnsafeBufferPointer { pool in run(buffer, code, pool) }
            }
        }
    }

    @inline(__always)
    private func isSeparator(_ c: UInt32) -> Bool {
        if c < 64 { return asciiSeparatorMask.0 & (1 << UInt64(c)) != 0 }
        if c < 128 { return asciiSeparatorMask.1 & (1 << UInt64(c - 64)) != 0 }
        return separators.contains(c)
    }

    @inline(__always)
    private static func isDigit(_ c: UInt32) -> Bool { c &- 0x30 < 10 }

    @inline(__always)
    private static func isUpper(_ c: UInt32) -> Bool { c &- 0x41 < 26 }

    private func run(
        _ input: UnsafeBufferPointer<UInt32>, _ code: UnsafeBufferPointer<Instruction>,
        _ pool: UnsafeBufferPointer<UInt32>
    ) -> GrammarMatch? {
        let n = input.count
        let slotCount = GrammarVocabulary.slots.count
        // The captures in one block, one allocation: starts, then ends, then constant values, per slot.
        let registers = UnsafeMutableBufferPointer<Int>.allocate(capacity: 3 * slotCount)
        registers.initialize(repeating: -1)
        defer { registers.deallocate() }
        let starts = registers.baseAddress!
        let ends = starts + slotCount
        let values = starts + 2 * slotCount
        var operation = -1
        var language = -1
        // Backtracking: (pc, pos, trail length); the trail undoes captures and tags.
        var stack: [(Int, Int, Int)] = []
        var trail: [(Int, Int)] = []  // (which: 0..<3*slots for starts/ends/values, 3*slots op, +1 lang; old)
        stack.reserveCapacity(16)
        trail.reserveCapacity(16)
        var pc = 0
        var pos = 0

        @inline(__always) func skip(_ p: Int) -> Int {
            var q = p
            while q < n && isSeparator(input[q]) { q += 1 }
            return q
        }

        while true {
            var ok = true
            switch code[pc] {
            case .literal(let start, let count, let boundary):
                let p = skip(pos)
                if p + count <= n {
                    var i = 0
                    while i < count && input[p + i] == pool[start + i] { i += 1 }
                    if i == count && !(boundary && p + count < n && Self.isUpper(input[p + count])) {
                        pos = p + count
                        pc += 1
                    } else {
                        ok = false
                    }
                } else {
                    ok = false
                }
            case .digits(let min, let max):
                let p = skip(pos)
                var q = p
                while q < n && Self.isDigit(input[q]) { q += 1 }
                let run = q - p
                if run == 0 && min == 0 {
                    pc += 1  // `$DIGITS<0-n>` may match nothing
                } else if run >= min && run <= max && run > 0 && (p == 0 || !Self.isDigit(input[p - 1])) {
                    pos = q
                    pc += 1
                } else {
                    ok = false
                }
            case .number:
                let p = skip(pos)
                var q = p < n && input[p] == 0x2B ? p + 1 : p
                let digitsStart = q
                while q < n && Self.isDigit(input[q]) { q += 1 }
                let run = q - digitsStart
                if run >= 7 && run <= 15 && (p == 0 || !Self.isDigit(input[p - 1])) {
                    pos = q
                    pc += 1
                } else {
                    ok = false
                }
            case .month:
                let p = skip(pos)
                var q = p
                while q < n && Self.isDigit(input[q]) { q += 1 }
                var monthAt = -1
                if q - p == 6 {
                    monthAt = p + 4
                } else if q - p == 4 && q + 2 < n && input[q] == 0x2D && Self.isDigit(input[q + 1])
                    && Self.isDigit(input[q + 2]) && (q + 3 >= n || !Self.isDigit(input[q + 3]))
                {
                    monthAt = q + 1
                    q += 3
                }
                if monthAt >= 0 && (p == 0 || !Self.isDigit(input[p - 1])) {
                    let m = Int(input[monthAt] - 0x30) * 10 + Int(input[monthAt + 1] - 0x30)
                    if m >= 1 && m <= 12 {
                        pos = q
                        pc += 1
                    } else {
                        ok = false
                    }
                } else {
                    ok = false
                }
            case .plan:
                let p = skip(pos)
                if p < n && Self.isUpper(input[p])
                    && (p == 0 || !(Self.isUpper(input[p - 1]) || Self.isDigit(input[p - 1])))
                {
                    var q = p + 1
                    while q < n && (Self.isUpper(input[q]) || Self.isDigit(input[q])) { q += 1 }
                    if q - p >= 2 && q - p <= 16 {
                        pos = q
                        pc += 1
                    } else {
                        ok = false
                    }
                } else {
                    ok = false
                }
            case .code:
                let p = skip(pos)
                var q = p
                var letters = 0
                while q < n && (Self.isUpper(input[q]) || Self.isDigit(input[q])) {
                    if Self.isUpper(input[q]) { letters += 1 }
                    q += 1
                }
                if q - p >= 2 && q - p <= 16 && letters > 0
                    && (p == 0 || !(Self.isUpper(input[p - 1]) || Self.isDigit(input[p - 1])))
                {
                    pos = q
                    pc += 1
                } else {
                    ok = false
                }
            case .rest:
                let p = skip(pos)
                if p < n {
                    pos = n
                    pc += 1
                } else {
                    ok = false
                }
            case .split(let first, let second):
                stack.append((second, pos, trail.count))
                pc = first
            case .jump(let target):
                pc = target
            case .open(let slot):
                trail.append((slot, starts[slot]))
                starts[slot] = skip(pos)
                pc += 1
            case .close(let slot):
                trail.append((slotCount + slot, ends[slot]))
                ends[slot] = pos
                pc += 1
            case .setSlot(let slot, let value):
                trail.append((2 * slotCount + slot, values[slot]))
                values[slot] = value
                pc += 1
            case .setOperation(let value):
                trail.append((3 * slotCount, operation))
                operation = value
                pc += 1
            case .setLanguage(let value):
                trail.append((3 * slotCount + 1, language))
                language = value
                pc += 1
            case .match:
                if skip(pos) == n && operation >= 0 {
                    return result(input, starts, ends, values, operation, language)
                }
                ok = false
            }
            if !ok {
                guard let (backPC, backPos, mark) = stack.popLast() else { return nil }
                while trail.count > mark {
                    let (which, old) = trail.removeLast()
                    if which < 3 * slotCount {
                        registers[which] = old
                    } else if which == 3 * slotCount {
                        operation = old
                    } else {
                        language = old
                    }
                }
                pc = backPC
                pos = backPos
            }
        }
    }

    private func result(
        _ input: UnsafeBufferPointer<UInt32>, _ starts: UnsafeMutablePointer<Int>, _ ends: UnsafeMutablePointer<Int>,
        _ values: UnsafeMutablePointer<Int>, _ operation: Int, _ language: Int
    ) -> GrammarMatch {
        var slots: [String: String] = [:]
        var secrets: [String: Secret] = [:]
        var verbatim: [String: Range<Int>] = [:]
        for (i, name) in GrammarVocabulary.slots.enumerated() {
            var value: String?
            if values[i] >= 0 {
                value = constants[values[i]]
            } else if starts[i] >= 0 && ends[i] >= starts[i] {
                var text = String.UnicodeScalarView()
                var end = ends[i]
                while end > starts[i] && isSeparator(input[end - 1]) { end -= 1 }
                if GrammarVocabulary.verbatimSlots.contains(name) { verbatim[name] = starts[i]..<end }
                for k in starts[i]..<end { if let u = Unicode.Scalar(input[k]) { text.append(u) } }
                value = String(text)
            }
            guard let value else { continue }
            if GrammarVocabulary.secretSlots.contains(name) {
                secrets[name] = Secret(value)
            } else {
                slots[name] = value
            }
        }
        var match = GrammarMatch(
            operation: OperationName(constants[operation]), slots: slots, secrets: secrets,
            language: language >= 0 ? Language(rawValue: constants[language]) : nil)
        match.verbatimRanges = verbatim
        return match
    }
}
