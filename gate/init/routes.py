"""API routes per stack, read from source (JS/TS tokens, Python `ast`, OpenAPI), each with a class guess.

Classes follow the http check's budgets (read, write, auth, stream, heavy); an admin route is
flagged `admin` and marked as needing authentication. Every class is a guess and says why.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import PurePosixPath

import yaml

from gate.init.detect import ProjectFiles
from gate.init.jstokens import Token, tokenize
from gate.rules_data import rules_file

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_ROUTES = 200
JS_EXTENSIONS = (".ts", ".js", ".tsx", ".jsx", ".mjs", ".cjs")
# DOTALL: a folder name may hold a newline, and is still a route.
_NEXT_ROUTE = re.compile(r"(^|/)(src/)?app/(.+/)?route\.(ts|js|tsx|jsx|mjs)$", re.S)
_PAGES_API = re.compile(r"(^|/)(src/)?pages/api/(.+)\.(ts|js|tsx|jsx|mjs)$", re.S)
_OPENAPI = re.compile(r"(^|/)(openapi|swagger)\.(json|ya?ml)$")


@dataclass(frozen=True)
class Guesses:
    """rules/init/guesses.yml, compiled once."""

    login: re.Pattern[str]
    auth: re.Pattern[str]
    admin: re.Pattern[str]
    heavy: re.Pattern[str]
    stream_markers: tuple[str, ...]
    secret_name_endings: tuple[str, ...]


@cache
def guesses() -> Guesses:
    data = yaml.safe_load(rules_file("init", "guesses.yml").read_text())
    paths = {name: re.compile(pattern, re.I) for name, pattern in data["route_paths"].items()}
    return Guesses(
        login=paths["login"],
        auth=paths["auth"],
        admin=paths["admin"],
        heavy=paths["heavy"],
        stream_markers=tuple(data["stream_markers"]),
        secret_name_endings=tuple(data["secret_name_endings"]),
    )


_ROUTER_OBJECTS = frozenset({"app", "router", "server", "api", "fastify", "routes", "r"})


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    source: str
    line: int
    route_class: str = "read"
    reason: str = ""
    admin: bool = False
    login: bool = False
    auth: bool | None = None  # set by the preview probe: the route refused an anonymous request
    answered: int | None = None  # the status the preview gave, when probed
    dynamic: bool = False  # has a parameter (/items/[id]); needs a real value to be requested


def classify(route: Route, code: str) -> Route:
    """The class guess, most specific first: stream (from code), auth, heavy, write, read."""
    path, rules = route.path, guesses()
    login = bool(rules.login.search(path)) and route.method in ("POST", "PUT")
    admin = bool(rules.admin.search(path))
    if any(marker in code for marker in rules.stream_markers):
        kind, why = "stream", "the handler's code streams (SSE or a stream response)"
    elif login or rules.auth.search(path):
        kind, why = "auth", "the path names sign-in or accounts"
    elif rules.heavy.search(path):
        kind, why = "heavy", "the path names work that is slow by nature"
    elif route.method in ("POST", "PUT", "PATCH", "DELETE"):
        kind, why = "write", f"{route.method} changes data"
    else:
        kind, why = "read", f"{route.method} reads"
    return replace(route, route_class=kind, reason=why, admin=admin, login=login)


def _dynamic(path: str) -> bool:
    return bool(re.search(r"[\[{<]|(^|/)[:*]", path))


def _next_path(parts: Sequence[str]) -> str:
    kept = [p for p in parts if not (p.startswith("(") and p.endswith(")")) and not p.startswith("@")]
    return "/" + "/".join(kept)


def _exported_methods(tokens: list[Token]) -> Iterator[tuple[str, int]]:
    for i, token in enumerate(tokens):
        if token.text != "export":
            continue
        window = [t.text for t in tokens[i + 1 : i + 4]]
        for j, text in enumerate(window):
            if text in METHODS and (j == 0 or window[j - 1] in ("function", "const", "let", "var")):
                yield text, token.line
                break
        if window and window[0] == "{":
            # `export { handler as GET, POST }`
            k = i + 2
            while k < len(tokens) and tokens[k].text != "}" and k < i + 60:
                if tokens[k].text in METHODS:
                    yield tokens[k].text, tokens[k].line
                k += 1


def next_routes(files: ProjectFiles) -> Iterator[Route]:
    for relative in files.files:
        match = _NEXT_ROUTE.search(relative)
        if match:
            code = files.read(relative) or ""
            path = _next_path((match.group(3) or "").strip("/").split("/") if match.group(3) else [])
            for method, line in _exported_methods(tokenize(code)):
                yield classify(Route(path, method, relative, line, dynamic=_dynamic(path)), code)
            continue
        match = _PAGES_API.search(relative)
        if match:
            code = files.read(relative) or ""
            sub = match.group(3).removesuffix("/index").removesuffix("index")
            path = "/api/" + sub if sub else "/api"
            methods = [m for m in METHODS if re.search(rf"""['"]{m}['"]""", code)] or ["GET"]
            for method in methods:
                yield classify(Route(path.rstrip("/") or "/", method, relative, 1, dynamic=_dynamic(path)), code)


def _handler_code(tokens: list[Token], start: int, code_lines: list[str]) -> str:
    """The source lines from the route declaration to its closing parenthesis (bounded)."""
    depth, end = 0, start
    for k in range(start, min(len(tokens), start + 2000)):
        text = tokens[k].text
        depth += text == "("
        depth -= text == ")"
        end = k
        if depth == 0 and k > start:
            break
    return "\n".join(code_lines[tokens[start].line - 1 : tokens[end].line])


def _is_router(name: str) -> bool:
    return name in _ROUTER_OBJECTS or name.lower().endswith("router")


def _resolve_module(files: ProjectFiles, importer: str, spec: str) -> str | None:
    if not spec.startswith("."):
        return None
    base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    stem = base.removesuffix(posixpath.splitext(base)[1]) if base.endswith(JS_EXTENSIONS) else base
    candidates = [base, *(stem + ext for ext in JS_EXTENSIONS), *(f"{stem}/index{ext}" for ext in JS_EXTENSIONS)]
    return next((c for c in candidates if files.has(c)), None)


def _mounts(files: ProjectFiles, relative: str, tokens: list[Token]) -> tuple[dict[str, str], dict[str, str]]:
    """`x.use('/api', router)`: prefixes by local router name, and by the file a name was imported from."""
    imported: dict[str, str] = {}
    for i in range(len(tokens) - 4):
        first, second, third, fourth, fifth = tokens[i : i + 5]
        if second.text == "=" and third.text == "require" and fifth.kind == "string":
            name, spec = first, fifth.text  # const orders = require('./routes/orders')
        elif first.text == "import" and third.text == "from" and fourth.kind == "string":
            name, spec = second, fourth.text  # import orders from './routes/orders'
        else:
            continue
        module = _resolve_module(files, relative, spec)
        if module is not None and name.kind == "name":
            imported[name.text] = module
    local: dict[str, str] = {}
    by_file: dict[str, str] = {}
    for i in range(len(tokens) - 6):
        _app, dot, verb, paren, prefix, comma, name = tokens[i : i + 7]
        if (dot.text, verb.text, paren.text, comma.text) != (".", "use", "(", ",") or prefix.kind != "string":
            continue
        if name.text in imported:
            by_file[imported[name.text]] = prefix.text.rstrip("/")
        elif name.kind == "name":
            local[name.text] = prefix.text.rstrip("/")
    return local, by_file


def express_routes(files: ProjectFiles) -> Iterator[Route]:
    """`app.get('/path', ...)`, `router.post(...)` in JS/TS sources, under the prefix
    `app.use('/prefix', router)` mounts them at (a router from the same file or one imported)."""
    parsed: dict[str, tuple[list[Token], str]] = {}
    for relative in files.files:
        if not relative.endswith(JS_EXTENSIONS) or _NEXT_ROUTE.search(relative) or _PAGES_API.search(relative):
            continue
        code = files.read(relative) or ""
        if re.search(r"\b(express|fastify|Router)\b", code):
            parsed[relative] = (tokenize(code), code)
    local_prefix: dict[tuple[str, str], str] = {}
    file_prefix: dict[str, str] = {}
    for relative, (tokens, _code) in parsed.items():
        local, by_file = _mounts(files, relative, tokens)
        local_prefix.update({(relative, name): prefix for name, prefix in local.items()})
        file_prefix.update(by_file)
    for relative, (tokens, code) in parsed.items():
        lines = code.splitlines()
        for i in range(len(tokens) - 4):
            obj, dot, verb, paren, target = tokens[i : i + 5]
            if dot.text != "." or paren.text != "(" or not _is_router(obj.text):
                continue
            method = verb.text.upper()
            if method in METHODS and target.kind == "string" and target.text.startswith("/"):
                prefix = file_prefix.get(relative, "") + local_prefix.get((relative, obj.text), "")
                path = prefix + (target.text if target.exact else target.text + "{param}")
                path = path.rstrip("/") if len(path) > 1 else path
                yield classify(
                    Route(path, method, relative, obj.line, dynamic=_dynamic(path)), _handler_code(tokens, i + 3, lines)
                )


class _PythonRoutes(ast.NodeVisitor):
    def __init__(self, relative: str, code: str) -> None:
        self.relative, self.lines, self.routes = relative, code.splitlines(), list[Route]()
        self.prefixes: dict[str, str] = {}

    def visit_Assign(self, node: ast.Assign) -> None:
        # router = APIRouter(prefix="/items")
        call = node.value
        if isinstance(call, ast.Call) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            for keyword in call.keywords:
                if keyword.arg in ("prefix", "url_prefix") and isinstance(keyword.value, ast.Constant):
                    self.prefixes[node.targets[0].id] = str(keyword.value.value)
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        body = "\n".join(self.lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            owner = decorator.func.value.id if isinstance(decorator.func.value, ast.Name) else ""
            verb = decorator.func.attr
            if not decorator.args or not isinstance(decorator.args[0], ast.Constant):
                continue
            path = self.prefixes.get(owner, "") + str(decorator.args[0].value)
            methods = [verb.upper()] if verb.upper() in METHODS else []
            if verb == "route":
                methods = ["GET"]
                for keyword in decorator.keywords:
                    if keyword.arg == "methods" and isinstance(keyword.value, ast.List | ast.Tuple):
                        methods = [str(e.value).upper() for e in keyword.value.elts if isinstance(e, ast.Constant)]
            for method in methods:
                if method in METHODS and path.startswith("/"):
                    route = Route(path, method, self.relative, node.lineno, dynamic=_dynamic(path))
                    self.routes.append(classify(route, body))
        self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function


def python_routes(files: ProjectFiles) -> Iterator[Route]:
    """FastAPI and Flask decorators; Django `path()` patterns in urls.py (with `include` prefixes)."""
    for relative in files.files:
        if not relative.endswith(".py"):
            continue
        code = files.read(relative) or ""
        if not re.search(r"\b(fastapi|flask|django)\b", code):
            continue
        try:
            tree = ast.parse(code, filename="<project file>")
        except (SyntaxError, ValueError, RecursionError):
            continue
        visitor = _PythonRoutes(relative, code)
        visitor.visit(tree)
        yield from visitor.routes
    yield from _django_routes(files)


def _django_patterns(files: ProjectFiles, relative: str, prefix: str, depth: int) -> Iterator[Route]:
    code = files.read(relative) or ""
    try:
        tree = ast.parse(code, filename="<project file>")
    except (SyntaxError, ValueError, RecursionError):
        return
    base = str(PurePosixPath(relative).parent)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "path"):
            continue
        if len(node.args) < 2 or not isinstance(node.args[0], ast.Constant):
            continue
        path = prefix + str(node.args[0].value)
        target = node.args[1]
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "include":
            if depth < 4 and target.args and isinstance(target.args[0], ast.Constant):
                module = str(target.args[0].value).replace(".", "/") + ".py"
                for candidate in (module, f"{base}/{module}", f"{base.rsplit('/', 1)[0]}/{module}"):
                    if files.has(candidate):
                        yield from _django_patterns(files, candidate, path, depth + 1)
                        break
            continue
        url = "/" + path.lstrip("/")
        view = ast.unparse(target)
        method = "POST" if guesses().login.search(url) else "GET"
        yield classify(Route(url, method, relative, node.lineno, reason=view, dynamic=_dynamic(url)), "")


def _django_routes(files: ProjectFiles) -> Iterator[Route]:
    for root_urls in [f for f in files.files if f.endswith("/urls.py") or f == "urls.py"]:
        settings = files.read(str(PurePosixPath(root_urls).parent / "settings.py")) or ""
        if "ROOT_URLCONF" in settings or files.has(str(PurePosixPath(root_urls).parent / "wsgi.py")):
            yield from _django_patterns(files, root_urls, "", 0)


def openapi_routes(files: ProjectFiles) -> Iterator[Route]:
    for relative in files.matching(r"(^|/)(openapi|swagger)\.(json|ya?ml)$"):
        yield from routes_from_openapi(files.read(relative) or "", relative)


def routes_from_openapi(text: str, source: str) -> Iterator[Route]:
    try:
        document = json.loads(text) if source.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return
    paths = document.get("paths") if isinstance(document, dict) else None
    count = 0
    for path, operations in (paths or {}).items() if isinstance(paths, dict) else []:
        for method in operations if isinstance(operations, dict) and str(path).startswith("/") else []:
            if str(method).upper() in METHODS and count < MAX_ROUTES:
                count += 1
                route = Route(str(path), str(method).upper(), source, 1, dynamic=_dynamic(str(path)))
                yield classify(route, " ".join(_media_types(operations[method])))


def _media_types(operation: object) -> Iterator[str]:
    """The response media types of one operation, read at fixed depth (YAML aliases can make
    a small document a huge tree, so it is never walked or serialised whole)."""
    responses = operation.get("responses") if isinstance(operation, dict) else None
    for response in list(responses.values())[:50] if isinstance(responses, dict) else []:
        content = response.get("content") if isinstance(response, dict) else None
        if isinstance(content, dict):
            yield from (str(kind) for kind in list(content)[:20])


def detect_routes(files: ProjectFiles) -> list[Route]:
    """Every route found once (first source wins), static paths first, capped at MAX_ROUTES."""
    found: dict[tuple[str, str], Route] = {}
    for source in (next_routes, express_routes, python_routes, openapi_routes):
        for route in source(files):
            # `//host/x` would name another host to an HTTP client: not a route of this app.
            if not route.path.startswith("//"):
                found.setdefault((route.path, route.method), route)
    ordered = sorted(found.values(), key=lambda r: (r.dynamic, r.path, METHODS.index(r.method)))
    return ordered[:MAX_ROUTES]
