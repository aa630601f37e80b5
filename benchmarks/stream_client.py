"""A headless Streamlit browser tab in Python (asyncio, one websocket): thirty students without thirty Chromiums.

It imitates Streamlit 1.67's frontend (App.tsx, its widget manager): ``GET /_stcore/health`` (which sets the
``_streamlit_xsrf`` cookie) and ``/_stcore/host-config``; ``/_stcore/stream`` with the subprotocols ``["streamlit",
<that cookie, else "PLACEHOLDER_AUTH_TOKEN">]``, a same-origin ``Origin`` and the cookies; a first ``rerun_script``
naming the page by its URL path. It keeps what the tab shows (the latest element per delta path, with the run,
fragment and script that drew it; stale ones dropped when a run finishes, the page's own when the server moves
the tab: ``st.switch_page``), the page, URL and query string, and the widget values as the frontend does (the
server's ``set_value``, else the value held, else the default), sent with every rerun. It runs one ``auto_rerun``
timer per fragment (``st.fragment(run_every=...)``), all cleared when a full run starts, and the ForwardMsg cache
(``ref_hash``), so the server sends it what it sends a browser. Not imitated: rendering, JavaScript (an ``st.html``
script's cookie), custom components, uploads, clicks, reconnecting; pictures are fetched only with ``fetch_media``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections import namedtuple
from collections.abc import Callable
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider

XSRF_COOKIE = "_streamlit_xsrf"
STATEFUL = ("selectbox", "radio", "checkbox", "slider", "number_input", "text_input", "text_area")
TEXTS = ("markdown", "text", "heading", "alert")  # st.caption is markdown
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
# What the frontend holds at one delta path: an element or a block, and the run, fragment and script that drew it.
Node = namedtuple("Node", "proto is_block run fragment script_hash")


def _widget(element) -> tuple[str, str, object, object] | None:
    """(WidgetState field, label, the server's value, default) of a widget, as its frontend component reads them."""
    kind = element.WhichOneof("type")
    if kind not in STATEFUL:
        return None
    w = getattr(element, kind)
    if kind in ("selectbox", "radio"):  # the option's string
        default = w.options[w.default] if w.HasField("default") and w.options else None
        return "string_value", w.label, w.raw_value if w.HasField("raw_value") else None, default
    if kind == "checkbox":
        return "bool_value", w.label, w.value, w.default
    if kind == "slider" and w.type == Slider.SELECT_SLIDER:  # the options' strings (its default holds indices)
        default = [w.options[int(i)] for i in w.default]
        return "string_array_value", w.label, list(w.raw_value) or default, default
    if kind == "slider":
        return "double_array_value", w.label, list(w.value), list(w.default)
    default = w.default if w.HasField("default") else None
    if kind == "number_input":  # NumberInput.tsx sends an INT one as int_value
        current, whole = w.value if w.HasField("value") else default, w.data_type == NumberInput.INT
        value, default = (int(v) if whole and v is not None else v for v in (current, default))
        return ("int_value" if whole else "double_value"), w.label, value, default
    return "string_value", w.label, w.value if w.HasField("value") else None, default


class StreamClient:
    """One browser tab on ``base_url`` (``http://host:port``), driven by asyncio."""

    def __init__(self, base_url: str, cookies: dict[str, str] | None = None, fetch_media: bool = False) -> None:
        self.base_url, self.cookies, self.fetch_media = base_url.rstrip("/"), dict(cookies or {}), fetch_media
        self.url_path = self.query_string = self.page_hash = self.main_hash = self.run_id = ""
        self.app_pages, self.nodes = [], {}  # nodes: delta path -> Node
        self.widgets: dict[str, tuple[str, object]] = {}  # widget id -> (WidgetState field, value)
        self.script_running = self.closed = False
        self.runs_finished = self.messages_received = self.reruns_sent = 0  # runs: not those "early for rerun"
        self.on_change: Callable[[StreamClient, float], None] | None = None
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}  # fragment id -> (interval, task)
        self._cache: dict[str, list] = {}  # hash -> [serialized ForwardMsg, run count when last used, fragment id]
        self._run_count, self._max_cache_age, self._fetched = 0, 2, set()
        self._ws, self._receiver, self._changed = None, None, asyncio.Condition()

    @property
    def url(self) -> str:
        """The address bar: the page's path and the query string the server last set."""
        return f"{self.base_url}/{self.url_path}" + (f"?{self.query_string}" if self.query_string else "")

    @property
    def timers(self) -> dict[str, float]:
        """The running ``auto_rerun`` timers: fragment id -> interval in seconds."""
        return {fragment_id: interval for fragment_id, (interval, _) in self._timers.items()}

    async def connect(self, path: str = "", query_string: str = "") -> StreamClient:
        """Open ``base_url/path?query_string`` as a browser does (``path`` may carry the query itself)."""
        path, _, query = path.partition("?")
        self.url_path, self.query_string = path.strip("/"), query_string or query
        await asyncio.to_thread(self._http_get, "/_stcore/health", True)
        await asyncio.to_thread(self._http_get, "/_stcore/host-config")
        parts = urlsplit(self.base_url)
        self._ws = await websockets.connect(
            f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{parts.path}/_stcore/stream",
            subprotocols=["streamlit", self.cookies.get(XSRF_COOKIE, "PLACEHOLDER_AUTH_TOKEN")],
            origin=f"{parts.scheme}://{parts.netloc}", additional_headers=self._cookie(),
            max_size=None, ping_interval=None, proxy=None)  # a browser never pings; the server may
        self._receiver = asyncio.create_task(self._receive())
        await self.rerun()  # the frontend's first request: the page named by its path, no widget states yet
        return self

    def _http_get(self, path: str, keep_cookies: bool = False) -> bytes:
        request = urllib.request.Request(self.base_url + path, headers=self._cookie())
        with urllib.request.urlopen(request, timeout=60) as response:
            for header in (response.headers.get_all("Set-Cookie") or []) if keep_cookies else []:
                self.cookies.update([header.split(";")[0].strip().split("=", 1)])
            return response.read()

    async def close(self) -> None:
        self.closed = True
        self._stop_timers()
        if self._ws is not None:
            await self._ws.close()  # which ends the receiving loop
            await self._receiver  # and raises here what went wrong in it, if anything did

    async def rerun(self, fragment_id: str = "", auto: bool = False) -> None:
        """A ``rerun_script`` as ``App.sendRerunBackMsg`` builds it: current page, query, every widget value."""
        if self.closed:
            return
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string, state.page_script_hash = self.query_string, self.page_hash
        state.page_name = "" if self.page_hash else self.url_path  # before the server named the pages: the URL path
        state.fragment_id, state.is_auto_rerun = fragment_id, auto
        for widget_id, (field, value) in self.widgets.items():
            if value is not None:  # an empty selectbox or number input: the frontend holds no value to send
                value = {"data": value} if field.endswith("_array_value") else value
                state.widget_states.widgets.add(id=widget_id, **{field: value})
        state.cached_message_hashes.extend(self._cache)
        info = state.context_info  # as Chromium sends it here; its url has no query string
        info.timezone, info.timezone_offset, info.locale, info.is_embedded = "UTC", 0, "en-US", False
        info.url, info.color_scheme = f"{self.base_url}/{self.url_path}", "light"
        self.reruns_sent += 1
        with contextlib.suppress(websockets.ConnectionClosed):  # a timer's last tick as the server goes
            await self._ws.send(msg.SerializeToString())

    async def _receive(self) -> None:
        try:
            async for data in self._ws:
                msg = self._from_cache(ForwardMsg.FromString(data), data)
                self.messages_received += 1
                kind = msg.WhichOneof("type")
                getattr(self, f"_on_{kind}", lambda *_: None)(getattr(msg, kind) if kind else None, msg.metadata)
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            self._stop_timers()
            async with self._changed:
                self._changed.notify_all()

    def _from_cache(self, msg: ForwardMsg, data: bytes) -> ForwardMsg:
        """The frontend's ForwardMsg cache: keep cacheable messages, answer a ``ref_hash`` from them."""
        if msg.WhichOneof("type") == "ref_hash":
            entry = self._cache[msg.ref_hash]
            entry[1] = self._run_count
            full = ForwardMsg.FromString(entry[0])
            full.metadata.CopyFrom(msg.metadata)
            return full
        if msg.metadata.cacheable and msg.hash and msg.hash not in self._cache:
            self._cache[msg.hash] = [data, self._run_count, msg.delta.fragment_id]
        return msg

    def _on_new_session(self, session, metadata) -> None:
        self.main_hash, self.run_id = session.main_script_hash, metadata.run.script_run_id
        self._max_cache_age = session.config.max_cached_message_age or self._max_cache_age
        if not metadata.run.fragment_ids:  # a full run: every fragment's timer goes; the run re-announces its own
            self._stop_timers()
        if session.page_script_hash != self.page_hash:
            # Another page (st.switch_page, or the first run): only what the main script drew stays.
            self.nodes = {p: n for p, n in self.nodes.items() if n.script_hash == self.main_hash}
            self._forget_inactive_widgets()
        self.page_hash = session.page_script_hash

    def _on_navigation(self, navigation, metadata) -> None:
        self.app_pages, self.page_hash = list(navigation.app_pages), navigation.page_script_hash
        page = next((p for p in self.app_pages if p.page_script_hash == self.page_hash), None)
        if page is not None:
            self.url_path = "" if page.is_default else page.url_pathname

    def _on_page_info_changed(self, info, metadata) -> None:
        self.query_string = info.query_string

    def _on_page_not_found(self, missing, metadata) -> None:
        self.page_hash = self.main_hash

    def _on_session_status_changed(self, status, metadata) -> None:
        self.script_running = status.script_is_running

    def _on_auto_rerun(self, auto, metadata) -> None:
        held = self._timers.get(auto.fragment_id)
        if not auto.fragment_id or (held is not None and held[0] == auto.interval):
            return  # the frontend keeps a running timer of the same interval: no reset at each fragment run
        self._stop_timers([auto.fragment_id])
        self._timers[auto.fragment_id] = (auto.interval, asyncio.create_task(self._every(auto)))

    async def _every(self, auto) -> None:
        began, ticks = time.monotonic(), 0
        while not self.closed:  # setInterval: a fixed rate, whatever the server is doing
            ticks += 1
            await asyncio.sleep(max(0.0, began + ticks * auto.interval - time.monotonic()))
            await self.rerun(auto.fragment_id, auto=True)

    def _on_stop_auto_rerun(self, stop, metadata) -> None:
        self._stop_timers(stop.fragment_ids)

    def _stop_timers(self, fragment_ids=None) -> None:
        for fragment_id in list(self._timers if fragment_ids is None else fragment_ids):
            if (held := self._timers.pop(fragment_id, None)) is not None:
                held[1].cancel()

    def _on_delta(self, delta, metadata) -> None:
        path, kind = tuple(metadata.delta_path), delta.WhichOneof("type")
        if kind == "new_transient":
            return  # spinners and the like: never queried
        held, proto = self.nodes.get(path), delta.new_element if kind == "new_element" else delta.add_block
        if held is not None and held.is_block and not (
                kind == "add_block" and held.proto.WhichOneof("type") == proto.WhichOneof("type")):
            # An element, or another kind of block, in a block's place: the block's children go with it.
            self.nodes = {p: n for p, n in self.nodes.items() if p[: len(path)] != path or p == path}
        self.nodes[path] = Node(proto, kind == "add_block", self.run_id, delta.fragment_id, metadata.active_script_hash)
        if kind == "new_element":
            widget, shown = _widget(proto), getattr(proto, proto.WhichOneof("type"))
            if widget is not None and (shown.set_value or shown.id not in self.widgets):
                # The server's value if it set one; else, when first drawn, the default (committed without a rerun).
                self.widgets[shown.id] = (widget[0], widget[2] if shown.set_value else widget[3])
            for url in {i.url for i in proto.imgs.imgs if i.url[:1] == "/"} - self._fetched if self.fetch_media else ():
                self._fetched.add(url)  # a browser fetches each picture once (its cache)
                fetch = asyncio.get_running_loop().run_in_executor(None, self._http_get, url)
                fetch.add_done_callback(lambda f: f.exception())  # a picture that failed is not our concern
        self._changed_now()

    def _on_script_finished(self, status, metadata) -> None:
        run, fragments = metadata.run, set(metadata.run.fragment_ids)
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN or not run.script_run_id:
            return
        if status in DONE and (fragments or run.script_run_id == self.run_id):
            before = len(self.nodes)
            if fragments:  # a fragment's run: only that fragment's stale elements go
                self.nodes = {p: n for p, n in self.nodes.items()
                              if n.fragment not in fragments or n.run == run.script_run_id}
            else:  # a full run: whatever it did not draw goes (below: with whatever sat in a block that went)
                self.nodes = {p: n for p, n in self.nodes.items() if n.run == run.script_run_id}
            self.nodes = {p: n for p, n in self.nodes.items() if all(p[:i] in self.nodes for i in range(2, len(p)))}
            self._forget_inactive_widgets()
            if len(self.nodes) != before:
                self._changed_now()
        self._run_count += 1  # the message cache ages by runs, as the frontend's incrementRunCount
        for key, (_, used, fragment) in list(self._cache.items()):
            if (not fragments or fragment in fragments) and self._run_count - used > self._max_cache_age:
                del self._cache[key]
        self.runs_finished += 1

    def _forget_inactive_widgets(self) -> None:
        shown = {getattr(n.proto, n.proto.WhichOneof("type")).id for n in self.nodes.values()
                 if not n.is_block and n.proto.WhichOneof("type") in STATEFUL}
        self.widgets = {k: v for k, v in self.widgets.items() if k in shown}

    def _changed_now(self) -> None:
        if self.on_change is not None:
            self.on_change(self, time.time())

    def _cookie(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def elements(self, kind: str | None = None) -> list:
        """Elements shown, in page order (main area, then sidebar), optionally of one kind (``"selectbox"``)."""
        return [n.proto for _, n in sorted(self.nodes.items())
                if not n.is_block and (kind is None or n.proto.WhichOneof("type") == kind)]

    def widget_value(self, label_startswith: str):
        """The value shown by the first widget whose label starts so (a selectbox: its option); None if none."""
        for element in self.elements():
            widget = _widget(element)
            if widget is not None and widget[1].startswith(label_startswith):
                held = self.widgets.get(getattr(element, element.WhichOneof("type")).id)
                return held[1] if held is not None else widget[3]
        return None

    def texts(self) -> list[str]:
        """The bodies of the markdown, text, headings and alerts shown."""
        return [getattr(e, e.WhichOneof("type")).body for e in self.elements() if e.WhichOneof("type") in TEXTS]

    async def wait_for(self, predicate: Callable[[StreamClient], bool], timeout: float) -> None:
        """Until ``predicate(client)``, checked after every message; TimeoutError, or ConnectionError if closed."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self) or self.closed), timeout)
        if not predicate(self):
            raise ConnectionError("the server closed the connection")


async def connect(base_url: str, path: str = "", query_string: str = "", **options) -> StreamClient:
    """A new tab on ``base_url/path?query_string`` (``options``: ``cookies``, ``fetch_media``)."""
    return await StreamClient(base_url, **options).connect(path, query_string)
