import Foundation
// swift-tools-version:6.2
// Benchmarks for SelfCare, kept out of the main package so they never slow `swift test`.
// Run: cd Benchmarks && swift package benchmark
import PackageDescription

// A path dependency is named after its folder, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "SelfCareBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        // The MallocInterposer trait alone: the default traits need a package the local copy lacks.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "SelfCareBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SelfCareCore", package: root),
                .product(name: "SelfCareGrammar", package: root),
                .product(name: "SelfCareChannels", package: root),
                .product(name: "SelfCareStore", package: root),
                .product(name: "SelfCareScenarios", package: root),
                .product(name: "SelfCareTesting", package: root),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SelfCareBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
