import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareStore
import SelfCareTesting
import Testing

@Suite("Hostile fields over HTTP, on SQLite")
struct HostileFieldTests {
    /// A NUL or another control character in a number or an id, or a number of 65,000 digits, is refused
    /// 400 at the adapter and writes nothing; the chain stays verifiable after every one of them.
    @Test func numbersAndIdsOutsideTheirBoundsAreRefusedAndTheChainHolds() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(store, subscribers: [Fixtures.subscriber()])
            let longNumber = String(repeating: "9", count: 65_000)
            let keys65 = String(repeating: "1", count: IVRChannel.maxKeysPerStep + 1)
            let refused: [BadRequest] = [
                BadRequest(uri: "/sms/kannel?from=186123%0045678&text=CXYE"),
                BadRequest(uri: "/sms/kannel?from=18612345678&id=ab%00cd&text=CXYE"),
                BadRequest(uri: "/sms/kannel?from=18612345678&to=100%0010&text=CXYE"),
                .form("/sms/kannel", "from=\(longNumber)&text=CXYE"),
                .form("/ussd/at", "sessionId=s%00x&serviceCode=*100%23&phoneNumber=18612345678&text="),
                .form("/ussd/at", "sessionId=s1&serviceCode=*100%23&phoneNumber=186%0012345678&text="),
                .form("/ussd/at", "sessionId=s2&serviceCode=*100%23&phoneNumber=\(longNumber)&text="),
                .json("/v1/messages", #"{"channel":"sms","from":"18612345678\u0000x","text":"CXYE"}"#),
                .json("/v1/messages", #"{"channel":"sms","from":"18612345678","id":"a\u0000b","text":"CXYE"}"#),
                .json("/v1/messages", #"{"channel":"ussd","from":"18612345678","session":"j\u0001","code":"*100#"}"#),
                .json("/v1/ivr", #"{"call":"c\u0000","from":"18612345678","start":true}"#),
                .json("/v1/ivr", #"{"call":"c1","from":"\#(longNumber)","start":true}"#),
                BadRequest(uri: "/ivr/vxml?call=c%00x&step=1"),
                // More keys in one step than a caller can type ahead (each would run an operation).
                .json("/v1/ivr", #"{"call":"c1","from":"18612345678","digits":"\#(keys65)"}"#),
                .form("/ivr/vxml?call=c1&step=1", "digits=\(keys65)"),
                // A step counter that is no counter.
                .json("/v1/ivr", #"{"call":"c1","from":"18612345678","digits":"1","step":-1}"#),
                .json("/v1/ivr", #"{"call":"c1","from":"18612345678","digits":"1","step":1.5}"#),
                .json("/v1/ivr", #"{"call":"c1","from":"18612345678","digits":"1","step":"1"}"#),
                .json("/v1/ivr", #"{"call":"c1","from":"18612345678","digits":"1","step":true}"#),
                .json("/v1/ivr", #"{"call":"c1","from":"18612345678","digits":"1","step":99999999999999999999999}"#),
                // A voice browser's session id or caller that no platform sends.
                BadRequest(uri: "/ivr/vxml?from=18612345678&session=zz%001"),
                BadRequest(uri: "/ivr/vxml?from=18612345678&session=\(String(repeating: "s", count: 129))"),
                BadRequest(uri: "/ivr/vxml?from=1861%002345678"),
                // A step counter out of range would run the keys again instead of answering a retry.
                .form("/ivr/vxml?call=c1&step=-1", "digits=1"),
                .form("/ivr/vxml?call=c1&step=99999999999999999999", "digits=1"),
                BadRequest(uri: "/ivr/vxml?from=\(longNumber)"),
            ]
            try await app.test(.router) { client in
                for bad in refused {
                    var headers: HTTPFields = [:]
                    if let type = bad.contentType { headers[.contentType] = type }
                    try await client.execute(
                        uri: bad.uri, method: bad.method, headers: headers, body: bad.body.map { ByteBuffer(bytes: $0) }
                    ) { response in
                        #expect(response.status == .badRequest, "\(bad) → \(response.status)")
                        #expect(!String(buffer: response.body).contains(longNumber.prefix(40)))
                    }
                }
                #expect(try allRecords(store).isEmpty, "a refused request writes no record")
                // A customer's over-long text still gets its polite reply, and its record stays small.
                let text = String(repeating: "查", count: 5_000)
                try await client.execute(
                    uri: "/sms/kannel", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(
                        string: "from=18612345678&text="
                            + (text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
                ) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("CXYE"), "the help text")
                }
            }
            let records = try allRecords(store)
            #expect(records.count == 1)
            #expect((records.first?.inputs.utf8.count ?? .max) < 4 * RecordLimits.input)
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }
}
