#!/usr/bin/python3
"""tests/interop/agent_client.py: a foreign gRPC client for mcp-agent.

Proves that "any standard gRPC client can call the agent" (SPEC §6): it
compiles proto/agent.proto with grpc_tools into a temporary directory at run
time, calls one method of mcp.v1.Agent with python3-grpcio, and prints the
response as JSON (one JSON object per line for the Logs stream).

Run it with Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools),
not a pyenv python that may come first on PATH:

  agent_client.py --address 127.0.0.1:PORT --ca ca.crt --cert x.crt --key x.key \
      [--method Status] [--service NAME] [--request '{"tail": 5}'] [--timeout S]
  agent_client.py --address unix:/run/mcp/agent.sock --method HealthCheck

--repeat N makes the (unary) call N times on one channel, back to back,
and stops at the first failure, saying after how many calls (for tests of
rate limits).  --request @FILE reads the JSON from FILE (large requests); --raw-hex HEX
Service data: ExportServiceData with --out FILE writes the chunks' data to
FILE and prints only the final chunk; ImportServiceData (client stream)
sends --upload FILE in 1 MiB chunks, the first with --request's service /
force, the last final with the file's SHA-256 and size (--cut N: send only
the first N bytes and end the stream without the final chunk; --bad-sha:
announce a wrong SHA-256).

--request @FILE reads the JSON from FILE (large requests); --raw-hex HEX
sends HEX as the request's bytes as they are, unchecked (for tests of
what the agent does with malformed or non-UTF-8 requests).

Exit 0 on OK; on a non-OK status the code name (e.g. PERMISSION_DENIED) and
the server's message go to stderr and the exit status is 2; 1 on usage or
setup errors.
"""
import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "proto", "agent.proto")


def compile_proto(proto, outdir):
    from grpc_tools import protoc
    proto = os.path.abspath(proto)
    # every .proto beside it too: master.proto imports agent.proto
    d = os.path.dirname(proto)
    others = [os.path.join(d, f) for f in sorted(os.listdir(d))
              if f.endswith(".proto") and os.path.join(d, f) != proto]
    rc = protoc.main(["protoc", "-I" + d, "--python_out=" + outdir, proto]
                     + others)
    if rc != 0:
        raise RuntimeError("protoc failed on %s" % proto)
    sys.path.insert(0, outdir)
    name = os.path.splitext(os.path.basename(proto))[0] + "_pb2"
    return importlib.import_module(name)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel_for(args, grpc):
    # above the agent's own limit (65 MiB), so that the agent is the one
    # that refuses a message too large
    opts = [("grpc.max_receive_message_length", 128 << 20),
            ("grpc.max_send_message_length", 128 << 20)]
    if args.address.startswith("unix:"):
        return grpc.insecure_channel(args.address, options=opts)
    if not (args.ca and args.cert and args.key):
        raise SystemExit("agent_client: --ca, --cert and --key are needed for TCP")
    creds = grpc.ssl_channel_credentials(root_certificates=read(args.ca),
                                         private_key=read(args.key),
                                         certificate_chain=read(args.cert))
    return grpc.secure_channel(args.address, creds, options=opts)


def main():
    ap = argparse.ArgumentParser(description="call one mcp.v1.Agent method")
    ap.add_argument("--address", required=True,
                    help="host:port (mutual TLS) or unix:/path")
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--method", default="Status")
    ap.add_argument("--service", help="sets the request's 'service' field")
    ap.add_argument("--request", default="{}",
                    help="request message as JSON (proto3 JSON mapping), "
                    "or @FILE")
    ap.add_argument("--raw-hex",
                    help="send these bytes (hex) as the request instead")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds; 0 = none")
    ap.add_argument("--proto", default=PROTO)
    ap.add_argument("--repeat", type=int, default=1,
                    help="make the unary call this many times")
    ap.add_argument("--out", help="ExportServiceData: write the data here")
    ap.add_argument("--upload", help="client stream: send this file")
    ap.add_argument("--cut", type=int, default=-1,
                    help="upload: stop after N bytes, no final chunk")
    ap.add_argument("--bad-sha", action="store_true")
    args = ap.parse_args()

    import grpc
    from google.protobuf import json_format

    tmp = tempfile.mkdtemp(prefix="agent_client.")
    try:
        pb = compile_proto(args.proto, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # the file's service: Agent, or Master with --proto proto/master.proto
    svc = list(pb.DESCRIPTOR.services_by_name.values())[0]
    m = svc.methods_by_name.get(args.method)
    if m is None:
        raise SystemExit("agent_client: no method %s in %s (have: %s)" % (
            args.method, svc.full_name, ", ".join(sorted(svc.methods_by_name))))
    from google.protobuf import symbol_database
    req_cls = symbol_database.Default().GetSymbol(m.input_type.full_name)
    resp_cls = symbol_database.Default().GetSymbol(m.output_type.full_name)
    text = args.request
    if text.startswith("@"):
        with open(text[1:]) as f:
            text = f.read()
    req = json_format.Parse(text, req_cls())
    if args.service is not None:
        req.service = args.service
    serialize = req_cls.SerializeToString
    if args.raw_hex is not None:
        req = bytes.fromhex(args.raw_hex)
        serialize = bytes

    path = "/%s/%s" % (svc.full_name, m.name)
    timeout = args.timeout if args.timeout > 0 else None
    channel = channel_for(args, grpc)

    def show(msg):
        print(json.dumps(json_format.MessageToDict(msg,
                         preserving_proto_field_name=True,
                         including_default_value_fields=True), sort_keys=True),
              flush=True)

    done = 0
    try:
        if m.client_streaming:
            import hashlib
            data = read(args.upload) if args.upload else b""
            sha = hashlib.sha256(data).hexdigest()
            if args.bad_sha:
                sha = "0" * 64
            step = 1 << 20

            def chunks():
                first = req_cls()
                first.CopyFrom(req)
                end = len(data) if args.cut < 0 else min(args.cut, len(data))
                off = 0
                msg = first
                while True:
                    piece = data[off:min(off + step, end)]
                    off += len(piece)
                    msg.data = piece
                    if off >= end and args.cut < 0:
                        msg.final = True
                        msg.sha256 = sha
                        msg.size = len(data)
                        yield msg
                        return
                    yield msg
                    if off >= end:
                        return
                    msg = req_cls()
            call = channel.stream_unary(path,
                                        request_serializer=req_cls.SerializeToString,
                                        response_deserializer=resp_cls.FromString)
            show(call(chunks(), timeout=timeout))
        elif m.server_streaming and args.out:
            call = channel.unary_stream(path,
                                        request_serializer=serialize,
                                        response_deserializer=resp_cls.FromString)
            with open(args.out, "wb") as f:
                for msg in call(req, timeout=timeout):
                    f.write(msg.data)
                    if msg.final:
                        msg.data = b""
                        show(msg)
        elif m.server_streaming:
            call = channel.unary_stream(path,
                                        request_serializer=serialize,
                                        response_deserializer=resp_cls.FromString)
            for msg in call(req, timeout=timeout):
                show(msg)
        else:
            call = channel.unary_unary(path,
                                       request_serializer=serialize,
                                       response_deserializer=resp_cls.FromString)
            for _ in range(max(args.repeat, 1)):
                msg = call(req, timeout=timeout)
                done += 1
            show(msg)
    except grpc.RpcError as e:
        print("%s: %s" % (e.code().name, e.details()), file=sys.stderr)
        if args.repeat > 1:
            print("after %d successful call(s)" % done, file=sys.stderr)
        return 2
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
