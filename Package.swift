// swift-tools-version:6.2
import PackageDescription

/// The Swift settings of every target. Swift 6 language mode (below) already checks concurrency strictly; these
/// upcoming features keep what the sources already do consistently from slipping.
let swiftSettings: [SwiftSetting] = [
    // Existential types are spelled `any P`.
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "selfcare",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "selfcare", targets: ["selfcare"]),
        .library(name: "SelfCareCore", targets: ["SelfCareCore"]),
        .library(name: "SelfCareCrypto", targets: ["SelfCareCrypto"]),
        .library(name: "SelfCareGrammar", targets: ["SelfCareGrammar"]),
        .library(name: "SelfCareStore", targets: ["SelfCareStore"]),
        .library(name: "SelfCarePostgres", targets: ["SelfCarePostgres"]),
        .library(name: "SelfCareChannels", targets: ["SelfCareChannels"]),
        .library(name: "SelfCareHTTP", targets: ["SelfCareHTTP"]),
        .library(name: "SelfCareScenarios", targets: ["SelfCareScenarios"]),
        .library(name: "SelfCareTesting", targets: ["SelfCareTesting"]),
        .library(name: "SelfCareConsole", targets: ["SelfCareConsole"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // The PostgreSQL client of the multi-node store: pure Swift over SwiftNIO, so a fresh machine builds it with
        // no client library installed (libpq would need its headers on every machine that runs `swift build`).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // The web console's pages: server-rendered templates, no JavaScript build step (no npm registry here).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSelfCareLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .yum(["openssl-devel"]), .brew(["openssl@3"])]
        ),
        .target(
            name: "SelfCareCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SelfCareCrypto",
            dependencies: ["CSelfCareLibCrypto", "SelfCareCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SelfCareGrammar",
            dependencies: ["SelfCareCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SelfCareChannels",
            dependencies: ["SelfCareCore", "SelfCareGrammar"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SelfCareHTTP",
            dependencies: [
                "SelfCareCore", "SelfCareChannels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SelfCareStore",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store: the same contract as SQLite's, for several gateway nodes on one database.
        .target(
            name: "SelfCarePostgres",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                "SelfCareChannels",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What `selfcare test` and `selfcare bench` run: conversation scenarios, their JUnit report and the session
        // flood, each on a scratch database under a fresh random pepper. Shipped in the executable, so it holds no
        // test doubles, no fixed pepper and nothing that finds the source checkout.
        .target(
            name: "SelfCareScenarios",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                "SelfCareStore",
                "SelfCareGrammar",
                "SelfCareChannels",
                "SelfCareHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The web console at /console: accounts and roles, the phone simulator, the subscriber and records views,
        // the grammar workbench (drafts checked and tried as scenarios by child `selfcare` processes) and health.
        .target(
            name: "SelfCareConsole",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                "SelfCareGrammar",
                "SelfCareChannels",
                "SelfCareHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support only, never linked by the executable: fixtures with a fixed pepper, the in-memory store,
        // adapter probes and the in-process conformance harness.
        .target(
            name: "SelfCareTesting",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                "SelfCareStore",
                "SelfCarePostgres",
                "SelfCareGrammar",
                "SelfCareChannels",
                "SelfCareHTTP",
                "SelfCareScenarios",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "selfcare",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                "SelfCareStore",
                "SelfCarePostgres",
                "SelfCareGrammar",
                "SelfCareChannels",
                "SelfCareHTTP",
                "SelfCareScenarios",
                "SelfCareConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/SelfCareCLI",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareCoreTests",
            dependencies: [
                "SelfCareCore",
                "SelfCareCrypto",
                "SelfCareTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareCryptoTests",
            dependencies: ["SelfCareCrypto", "SelfCareTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareGrammarTests",
            dependencies: ["SelfCareGrammar", "SelfCareChannels", "SelfCareTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareChannelsTests",
            dependencies: [
                "SelfCareChannels", "SelfCareTesting", .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareHTTPTests",
            dependencies: [
                "SelfCareHTTP", "SelfCareTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareConsoleTests",
            dependencies: [
                "SelfCareConsole", "SelfCareHTTP", "SelfCareTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareStoreTests",
            dependencies: [
                "SelfCareStore", "SelfCarePostgres", "SelfCareCrypto", "SelfCareChannels", "SelfCareTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareTestingTests",
            dependencies: ["SelfCareTesting", "SelfCareScenarios", "SelfCareCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SelfCareCLITests",
            dependencies: [
                "selfcare", "SelfCareCore", "SelfCareScenarios", "SelfCareTesting",
                // The VoiceXML schema test drives the adapter in process, then validates with xmllint; the CSV
                // export test writes hostile records straight into a database.
                "SelfCareChannels", "SelfCareHTTP", "SelfCareStore",
                // The PostgreSQL cases make a database of their own on the test server.
                "SelfCarePostgres",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
