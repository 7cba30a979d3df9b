import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// The last answer of each call, by step, so a voice platform's retry of a step gets the same answer
/// instead of handling the keys twice. Keys are kept as hashes (they hold the digits pressed). Bounded like the
/// IVR channel's sessions: as many calls as it holds at most, each dropped when idle as long as a call may be.
struct StepCache: Sendable {
    struct Answer: SessionState {
        var key: Int
        var body: ByteBuffer
    }

    private let clock: any TimeSource
    let answers: MemorySessionStore<Answer>

    init(clock: any TimeSource, like sessions: any SessionStore) {
        self.clock = clock
        answers = MemorySessionStore(
            idleTimeout: sessions.idleTimeout, limits: SessionLimits(capacity: sessions.capacity))
    }

    func answer(call: String, key: String) async -> ByteBuffer? {
        guard let entry = await answers.load(call, now: clock.now()), entry.key == key.hashValue else { return nil }
        return entry.body
    }

    func store(call: String, key: String, body: ByteBuffer) async {
        await answers.save(call, Answer(key: key.hashValue, body: body), now: clock.now())
    }

    /// A new call or a hang-up: nothing of an earlier call with this id is answered again.
    func forget(call: String) async { await answers.remove(call) }
}

/// The longest session or call id the adapters take: ids are kept in memory between steps.
let maxSessionIDLength = 128
