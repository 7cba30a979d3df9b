/// A subscriber's life-cycle state.
public enum SubscriberStatus: String, Sendable, Codable, CaseIterable {
    /// 正常
    case normal
    /// 挂失
    case lost
    /// 欠费停机
    case arrears
    /// 停机保号
    case suspended
    /// 销户
    case closed
}
