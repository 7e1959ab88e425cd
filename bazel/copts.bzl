"""One COPTS list for every C target of the project."""

COPTS = [
    "-std=c11",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wpointer-arith",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wno-unused-parameter",
    "-O2",
    "-g",
]

# Generated protobuf-c code is not ours to lint.
PROTO_COPTS = [
    "-std=c11",
    "-w",
    "-O2",
]
