/// How the PostgreSQL store splits the numbers into partitions: each partition has its own lock and its own record
/// chain, so that writes about numbers of different partitions run side by side, on one node or several.
///
/// The count is fixed when the database is created (`store_settings.record_partitions`) and read by every node, so
/// that all nodes agree on the partition of every number.
enum RecordPartitions {
    /// The partition of `number`, 1…`count`: FNV-1a over its UTF-8 bytes. Any text works (`system`, a short code).
    static func partition(of number: String, count: Int) -> Int {
        guard count > 1 else { return 1 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in number.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count)) + 1
    }
}
