/// Formats integer fen as yuan with two decimals: `1234` → `12.34`, `-5` → `-0.05`.
public func formatYuan(_ fen: Int) -> String {
    let sign = fen < 0 ? "-" : ""
    let magnitude = fen.magnitude
    let yuan = magnitude / 100
    let cents = magnitude % 100
    return "\(sign)\(yuan).\(cents < 10 ? "0" : "")\(cents)"
}
