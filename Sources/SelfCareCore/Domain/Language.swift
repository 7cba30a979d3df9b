import Foundation

/// A reply language.
public struct Language: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The language's tag, as the prompt file is named (`zh-CN` for `prompts/zh-CN.prompts`).
    public let rawValue: String
    /// The language tagged exactly `rawValue`; `init(parsing:)` reads a tag leniently.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The language's tag.
    public var description: String { rawValue }

    /// Simplified Chinese, the default.
    public static let chinese = Language(rawValue: "zh-CN")
    /// English.
    public static let english = Language(rawValue: "en")
    /// Reads a language tag leniently: `zh-CN`, `zh`, `zh_cn`, `zh-Hans` → Chinese; `en`, `en-US`, `EN` → English.
    /// Returns nil for anything else.
    public init?(parsing text: String) {
        // The tags files and handsets send nearly always, without trimming and folding.
        switch text {
        case "zh-CN", "zh", "zh-cn":
            self = .chinese
            return
        case "en", "en-US", "en-GB":
            self = .english
            return
        default: break
        }
        let tag = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "-")
        if tag == "zh" || tag.hasPrefix("zh-") || tag == "中文" {
            self = .chinese
        } else if tag == "en" || tag.hasPrefix("en-") || tag == "english" {
            self = .english
        } else {
            return nil
        }
    }

    /// The languages the prompts ship in.
    public static let supported: [Language] = [.chinese, .english]
}
