"""proto_c_library: protoc-c in a genrule, wrapped as a cc_library."""

load(":copts.bzl", "PROTO_COPTS")

def proto_c_library(name, src, deps = [], visibility = None):
    """Generates <base>.pb-c.{c,h} from one .proto and builds them.

    Args:
      name: the cc_library name.
      src: the .proto file in this package.
      deps: other proto_c_library targets whose .proto files this one imports.
      visibility: as usual.
    """
    base = src[:-len(".proto")]
    native.genrule(
        name = name + "_gen",
        srcs = [src] + [d + "_src" for d in deps],
        outs = [base + ".pb-c.c", base + ".pb-c.h"],
        cmd = "protoc-c --proto_path=$$(dirname $(location %s)) --c_out=$(RULEDIR) $(location %s)" % (src, src),
    )
    native.filegroup(name = name + "_src", srcs = [src], visibility = visibility)
    native.cc_library(
        name = name,
        srcs = [base + ".pb-c.c"],
        hdrs = [base + ".pb-c.h"],
        copts = PROTO_COPTS,
        includes = ["."],
        deps = deps + ["//bazel:protobuf_c"],
        visibility = visibility,
    )
