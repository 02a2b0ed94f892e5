"""A small stdio MCP server on the SDK's MCPServer: annotated tools, rich results, a crash.

Appends its pid to the file named in argv[1] (when given), so tests can check it was stopped.
"""

import base64
import os
import sys

import anyio
from mcp.server.mcpserver import Image, MCPServer
from mcp_types import (
    CallToolResult,
    EmbeddedResource,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)

if len(sys.argv) > 1:  # one line per start
    with open(sys.argv[1], "a") as file:
        file.write(f"{os.getpid()}\n")

server = MCPServer("toolbox")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Echo the text back."""
    return f"echo: {text}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def drop_table(table: str) -> str:
    """Drop a database table."""
    return f"dropped {table}"


@server.tool()
def fail() -> CallToolResult:
    """Always reports an error."""
    return CallToolResult(
        content=[TextContent(type="text", text="the database is locked")], is_error=True
    )


@server.tool()
def picture() -> list:
    """A picture and a document."""
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    doc = EmbeddedResource(
        type="resource",
        resource=TextResourceContents(
            uri="file:///notes.txt", mime_type="text/plain", text="the notes"
        ),
    )
    return [Image(data=png, format="png"), doc]


@server.tool()
def die() -> str:
    """Exit at once, mid-call."""
    print("toolbox: dying on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def noisy() -> str:
    """Write to stderr, then answer."""
    print("toolbox: a line for the log", file=sys.stderr, flush=True)
    return "quiet answer"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def where() -> str:
    """The server's working folder."""
    return os.getcwd()


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def ansi() -> str:
    """Hostile output: \x1b]0;pwned\x07 terminal escapes."""
    return "\x1b]0;pwned\x07\x1b[2Jclean\r\nline\ttab"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def stall() -> str:
    """Never answers."""
    await anyio.sleep_forever()
    return "never"


anyio.run(server.run_stdio_async)
