/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
public func suggestion(for word: String, among candidates: [String]) -> String? {
    // Optimal string alignment distance: edits and swaps of two neighbours (`mian` → `main`) count one.
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
    let w = Array(word.lowercased())
    // Ties go to the alphabetically first name, so the suggestion never changes between runs.
    let best = candidates.sorted().map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best else { return nil }
    if best.1 <= max(1, w.count / 3) { return best.0 }
    // A truncated or extended name (`monthly_fee` for `monthly_fee_fen`).
    let lowered = word.lowercased()
    if w.count >= 3,
        let affix = candidates.sorted().first(where: {
            $0.lowercased().hasPrefix(lowered) || lowered.hasPrefix($0.lowercased())
        })
    {
        return affix
    }
    return nil
}
