/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
public func suggestion(for word: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + [Int](repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let w = Array(word.lowercased())
    let best = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best else { return nil }
    if best.1 <= max(1, w.count / 3) { return best.0 }
    // A truncated or extended name (`monthly_fee` for `monthly_fee_fen`).
    let lowered = word.lowercased()
    if w.count >= 3,
        let affix = candidates.first(where: { $0.lowercased().hasPrefix(lowered) || lowered.hasPrefix($0.lowercased()) }
        )
    {
        return affix
    }
    return nil
}
