import Foundation
import GRDB
import SelfCareCore
import Synchronization

/// The database file as it was opened, and its write-ahead log and shared-memory index once the database is in
/// WAL mode: their devices and inodes, to notice when a path no longer leads to the open file (removed, renamed
/// away, or replaced by another file) while SQLite still writes to it. A commit lives in the `-wal` file until
/// a checkpoint copies it into the database: a removed `-wal` loses every commit since, at the next restart.
final class DatabaseFile: Sendable {
    typealias Identity = (device: UInt64, inode: UInt64)
    let path: String
    private let identity: Identity?
    /// The `-wal` and `-shm` files as they were when `watchLog()` ran (they do not exist before WAL mode).
    private let companions = Mutex<[(path: String, identity: Identity)]>([])
    private let latched = Mutex<String?>(nil)

    init(path: String) {
        self.path = path
        identity = Self.identity(of: path)
    }

    static func identity(of path: String) -> Identity? {
        var info = stat()
        return stat(path, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : nil
    }

    /// Starts watching the write-ahead log and its index too. SQLite keeps both for as long as a connection is
    /// open: they only go away, or change inode, when someone removes or replaces them.
    func watchLog() {
        let found = ["-wal", "-shm"].compactMap { suffix in
            Self.identity(of: path + suffix).map { (path + suffix, $0) }
        }
        companions.withLock { $0 = found }
    }

    /// Why a path no longer leads to the open file, once one does not (latched: the file never comes back).
    func fault() -> String? {
        if let fault = latched.withLock({ $0 }) { return fault }
        guard let identity else { return nil }
        for (file, expected) in [(path, identity)] + companions.withLock({ $0 }) {
            var info = stat()
            let found: String
            if stat(file, &info) != 0 {
                found = "\(file) is gone (\(String(cString: strerror(errno))))"
            } else if UInt64(info.st_dev) != expected.device || UInt64(info.st_ino) != expected.inode {
                found = "another file is at \(file) now"
            } else {
                continue
            }
            let fault =
                "the database file \(path) or its write-ahead log was removed or replaced while the server ran "
                + "(\(found)); nothing more is written to it or acknowledged: restart the server on the right file"
            latched.withLock { $0 = fault }
            return fault
        }
        return nil
    }

    /// Bytes free for unprivileged writers on the file system holding the database.
    func freeBytes() -> Int64? {
        var info = statvfs()
        let folder = (path as NSString).deletingLastPathComponent
        guard statvfs(folder.isEmpty ? "." : folder, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
