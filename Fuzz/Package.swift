// swift-tools-version:6.2
// libFuzzer targets for SelfCare, kept out of the main package (they build with -sanitize=fuzzer).
// Run: scripts/fuzz.sh [grammar|sms|sessions|adapters] [seconds]
import PackageDescription

import Foundation

// A path dependency is named after its folder, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

// libFuzzer brings main(): the targets are libraries of code, not top-level scripts.
let settings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "SelfCareFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"), .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
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
            name: "FuzzAdapters",
            dependencies: [
                .product(name: "SelfCareCore", package: root), .product(name: "SelfCareCrypto", package: root),
                .product(name: "SelfCareStore", package: root), .product(name: "SelfCareChannels", package: root),
                .product(name: "SelfCareHTTP", package: root), .product(name: "SelfCareTesting", package: root),
                .product(name: "HTTPTypes", package: "swift-http-types"),
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
