"""FastAgiServer on loopback against a scripted client speaking the AGI protocol
the way Asterisk does (environment lines, blank line, then command/answer)."""
import asyncio
import logging
import socket

import pytest

from cti.fastagi import AgiHangup, AgiServerError, FastAgiServer

TIMEOUT = 5


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 15))


def environment(script="ivr/main?lang=fr&vip=", **extra):
    env = {"agi_network": "yes", "agi_network_script": script, "agi_request": f"agi://127.0.0.1/{script}",
           "agi_channel": "PJSIP/carrier-00000001", "agi_language": "en", "agi_type": "PJSIP",
           "agi_uniqueid": "1700000000.1", "agi_callerid": "+15551230001", "agi_calleridname": "Ada",
           "agi_context": "from-carrier", "agi_extension": "8005550100", "agi_priority": "2",
           "agi_accountcode": "", "agi_arg_1": "first"}
    env.update(extra)
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


class Asterisk:
    """The Asterisk side of one FastAGI connection."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server, env=None):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(environment() if env is None else env)
        await writer.drain()
        return cls(reader, writer)

    async def expect(self, command, *answers):
        line = await asyncio.wait_for(self.reader.readline(), TIMEOUT)
        assert line.decode().rstrip("\n") == command
        await self.send(*answers)

    async def send(self, *lines):
        self.writer.write("".join(f"{line}\n" for line in lines).encode())
        await self.writer.drain()

    async def closed_by_server(self):
        rest = await asyncio.wait_for(self.reader.read(), TIMEOUT)
        self.writer.close()
        return rest == b""


async def wait_until(predicate):
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_a_normal_call():
    seen = {}

    async def menu(call):
        seen["env"], seen["args"] = call.env, call.args
        await call.answer()
        seen["key"] = await call.get_data("demo-instruct", 3000, 1)
        await call.hangup()

    async def scenario():
        server = FastAgiServer("127.0.0.1", 0, {"ivr/main": menu})
        await server.start()
        try:
            ast = await Asterisk.connect(server)
            await ast.expect("ANSWER", "200 result=0")
            await ast.expect("GET DATA demo-instruct 3000 1", "200 result=2")
            await ast.expect("HANGUP", "200 result=1")
            assert await ast.closed_by_server()
            await wait_until(lambda: server.completed == 1)
            return server
        finally:
            await server.stop()

    server = run(scenario())
    assert seen["key"] == "2"
    assert seen["args"] == {"lang": "fr", "vip": ""}
    env = seen["env"]
    assert (env["callerid"], env["extension"], env["uniqueid"], env["channel"], env["accountcode"]) == \
        ("+15551230001", "8005550100", "1700000000.1", "PJSIP/carrier-00000001", "")
    assert (server.requests, server.completed, server.errors, server.rejected) == (1, 1, 0, 0)
    assert server.port != 0


@pytest.mark.parametrize("hangup", [
    ("HANGUP", "511 Command Not Permitted on a dead channel or intercepted channel"),
    ("HANGUP", "200 result=-1 endpos=0"),
    (),  # Asterisk simply closes the socket
])
def test_caller_hangs_up_mid_command_and_the_server_serves_the_next_call(hangup):
    outcomes = []

    async def menu(call):
        try:
            await call.stream_file("welcome")
            outcomes.append("finished")
        except AgiHangup:
            outcomes.append("hangup")
            raise

    async def scenario():
        server = FastAgiServer("127.0.0.1", 0, {"ivr/main": menu})
        await server.start()
        try:
            ast = await Asterisk.connect(server)
            await ast.expect('STREAM FILE welcome ""')
            if hangup:
                await ast.send(*hangup)
            else:
                ast.writer.transport.abort()
            await wait_until(lambda: server.hung_up == 1)
            assert await ast.closed_by_server()
            ast2 = await Asterisk.connect(server)
            await ast2.expect('STREAM FILE welcome ""', "200 result=0 endpos=100")
            assert await ast2.closed_by_server()
            await wait_until(lambda: server.completed == 1)
        finally:
            await server.stop()
    run(scenario())
    assert outcomes == ["hangup", "finished"]


def rejected_scenario(payload, close=True, **options):
    called = []

    async def menu(call):
        called.append(call)

    async def scenario():
        server = FastAgiServer("127.0.0.1", 0, {"ivr/main": menu}, **options)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(payload)
            await writer.drain()
            if close:
                writer.write_eof()
            # The server closes its side: no spin, no handler.
            assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
            await wait_until(lambda: server.rejected == 1 and server.active_calls == 0)
            writer.close()
            # Still serving.
            ast = await Asterisk.connect(server)
            assert await ast.closed_by_server()
            await wait_until(lambda: server.completed == 1)
            return server
        finally:
            await server.stop()
    server = run(scenario())
    assert len(called) == 1 and server.rejected == 1 and server.requests == 2
    return server


def test_early_close_during_headers_does_not_spin(caplog):
    with caplog.at_level(logging.WARNING):
        rejected_scenario(b"agi_network_script: ivr/main\nagi_chan")
    assert "closed before the end of the AGI environment" in caplog.text


def test_close_before_any_byte():
    rejected_scenario(b"")


@pytest.mark.parametrize("payload,reason", [
    (b"\x00\xffgarbage\n\n", "not UTF-8"),
    (b"agi_network_script: ivr/main\nno separator here\n\n", "malformed"),
    (b"agi_network_script: nosuch\nagi_channel: PJSIP/x\n\n", "unknown FastAGI route"),
    (b"agi_channel: PJSIP/x\n\n", "no agi_network_script"),
])
def test_bad_requests_are_refused(payload, reason, caplog):
    with caplog.at_level(logging.WARNING):
        rejected_scenario(payload)
    assert reason in caplog.text


def test_oversize_environment_is_refused(caplog):
    with caplog.at_level(logging.WARNING):
        rejected_scenario(b"".join(b"agi_var_%d: %s\n" % (i, b"x" * 50) for i in range(100)),
                          close=False, max_header_bytes=1024)
    assert "larger than 1024 bytes" in caplog.text


def test_silent_client_times_out(caplog):
    with caplog.at_level(logging.WARNING):
        rejected_scenario(b"agi_network: yes\n", close=False, header_timeout=0.2)
    assert "no complete AGI environment" in caplog.text


def test_a_failing_handler_is_logged_with_route_and_channel(caplog):
    async def broken(call):
        raise KeyError("bug")

    async def scenario():
        server = FastAgiServer("127.0.0.1", 0, {"ivr/main": broken})
        await server.start()
        try:
            ast = await Asterisk.connect(server)
            assert await ast.closed_by_server()
            await wait_until(lambda: server.errors == 1)
        finally:
            await server.stop()
    with caplog.at_level(logging.ERROR):
        run(scenario())
    assert "ivr/main" in caplog.text and "PJSIP/carrier-00000001" in caplog.text


def test_stop_cancels_running_handlers():
    state = {}

    async def waits_forever(call):
        state["started"] = True
        try:
            await call.wait_for_digit(-1)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise

    async def scenario():
        server = FastAgiServer("127.0.0.1", 0, {"ivr/main": waits_forever})
        await server.start()
        ast = await Asterisk.connect(server)
        await ast.reader.readline()
        await server.stop()
        assert await ast.closed_by_server()
        assert server.active_calls == 0
    run(scenario())
    assert state == {"started": True, "cancelled": True}


def test_sync_handlers_are_refused():
    def sync_menu(call):
        pass

    class AsyncMenu:
        async def __call__(self, call):
            pass

    with pytest.raises(TypeError, match="async def"):
        FastAgiServer("127.0.0.1", 0, {"ivr": sync_menu})
    FastAgiServer("127.0.0.1", 0, {"ivr": AsyncMenu()})  # async __call__ is fine


def test_port_in_use_is_a_clear_error():
    async def menu(call):
        pass

    async def scenario():
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with pytest.raises(AgiServerError, match=f"FastAGI port 127.0.0.1:{port} is already in use"):
                await FastAgiServer("127.0.0.1", port, {"ivr": menu}).start()
    run(scenario())
