/// The period a prepaid account is in.
public enum PrepaidPeriod: String, Sendable, Codable, CaseIterable {
    /// 有效期
    case valid
    /// 充值期
    case recharge
    /// 锁定期
    case locked
}
