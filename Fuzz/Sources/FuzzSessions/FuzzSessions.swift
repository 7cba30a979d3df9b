import Dispatch
import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareTesting
import Synchronization

/// The USSD and IVR input path on arbitrary key sequences: the first byte picks the channel, then each
/// line is one input (USSD) or one DTMF burst (IVR; an empty line is no input). Sessions never crash,
/// never end up in a state that breaks the next step, and never show the fixture password.
final class Channels: @unchecked Sendable {
    let ussd: USSDChannel
    let ivr: IVRChannel

    init() {
        let store = MemoryServiceStore()
        let semaphore = DispatchSemaphore(value: 0)
        Task {
            try? await Fixtures.seed(
                store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
            semaphore.signal()
        }
        semaphore.wait()
        let engine = try! Fixtures.engine(store: store)
        let grammars = try! GrammarSet(
            directory: ProcessInfo.processInfo.environment["SELFCARE_FUZZ_GRAMMARS"] ?? "grammars",
            prompts: try! Fixtures.shippedPrompts())
        ussd = USSDChannel(engine: engine, grammars: grammars)
        ivr = IVRChannel(engine: engine, grammars: grammars)
    }
}

let channels = Channels()
nonisolated(unsafe) var call = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSessions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let useIVR = bytes[0] & 1 == 1
    let caller = bytes[0] & 2 == 0 ? "18612345678" : "18611110001"
    let steps = String(decoding: bytes.dropFirst(), as: UTF8.self).split(
        separator: "\n", omittingEmptySubsequences: false
    )
    .prefix(40).map(String.init)
    call += 1
    let id = "fuzz-\(call)"
    let semaphore = DispatchSemaphore(value: 0)
    let shown = Handoff<[String]>([])
    Task {
        if useIVR {
            var texts = await channels.ivr.start(callID: id, caller: caller).compactMap(\.text)
            for step in steps {
                texts += await channels.ivr.input(callID: id, digits: step.isEmpty ? nil : step).compactMap(\.text)
            }
            await channels.ivr.hangUp(callID: id)
            shown.set(texts)
        } else {
            var texts = [
                await channels.ussd.handle(sessionID: id, caller: caller, serviceCode: "*100#", input: nil).text
            ]
            for step in steps {
                let screen = await channels.ussd.handle(
                    sessionID: id, caller: caller, serviceCode: "*100#", input: step)
                texts.append(screen.text)
                if screen.ends { break }
            }
            shown.set(texts)
        }
        semaphore.signal()
    }
    semaphore.wait()
    // The fixture password never stands as a run of digits of its own in what the caller sees or hears
    // (a longer run the caller keyed, a number, may contain the same digits).
    for text in shown.get() {
        var run = ""
        for c in text + " " {
            if c.isASCII && c.isNumber {
                run.append(c)
            } else {
                precondition(run != "258036", "a password was shown: \(text)")
                run = ""
            }
        }
    }
    return 0
}

/// A value the fuzzing thread waits for, handed over by the task that made it.
final class Handoff<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func get() -> Value { value.withLock { $0 } }
}
