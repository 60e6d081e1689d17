"""A wippy actor in Python: greets with its own pid, and echoes messages."""

import wit_world
from wit_world.imports import host


class WitWorld(wit_world.WitWorld):
    def greet(self, name: str) -> str:
        return f"Hello, {name}, from {host.self_pid()}"

    def echo(self) -> int:
        echoed = 0
        while True:
            received = host.receive(None)
            if received is None:
                return echoed
            if isinstance(received, host.Received_Message):
                message = received.value
                if message.topic == "stop":
                    return echoed
                if message.sender is not None:
                    host.send(message.sender, "echo", message.payload)
                    echoed += 1
