// swift-tools-version:6.2
// libFuzzer targets for SelfCare, kept out of the main package (they build with -sanitize=fuzzer).
// Run: scripts/fuzz.sh [grammar|sms|sessions] [seconds]
import PackageDescription

import Foundation

// A path dependency is named after its folder, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

// libFuzzer brings main(): the targets are libraries of code, not top-level scripts.
let settings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "SelfCareFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../")],
    targets: [
        .executableTarget(
            name: "FuzzGrammar",
            dependencies: [.product(name: "SelfCareGrammar", package: root)],
            swiftSettings: settings),
        .executableTarget(
            name: "FuzzSMS",
            dependencies: [
                .product(name: "SelfCareCore", package: root), .product(name: "SelfCareGrammar", package: root),
                .product(name: "SelfCareChannels", package: root),
            ],
            swiftSettings: settings),
        .executableTarget(
            name: "FuzzSessions",
            dependencies: [
                .product(name: "SelfCareCore", package: root), .product(name: "SelfCareChannels", package: root),
                .product(name: "SelfCareTesting", package: root),
            ],
            swiftSettings: settings),
    ],
    swiftLanguageModes: [.v6]
)
