"""The headless tab's file upload and widget choices: what a browser does when a student picks a file.

Streamlit 1.67's frontend (its FileUploader and UploadClient) uploads in three steps, imitated here:
a ``file_urls_request`` BackMsg (request id, file names, session id) over the websocket, answered by a
``file_urls_response`` ForwardMsg with an upload URL per file; a ``PUT`` of a multipart form with one
``file`` field to ``/_stcore/upload_file/<session_id>/<file_id>``, with the XSRF cookie's value in the
``X-Xsrftoken`` header; then a rerun whose widget states carry the uploader's ``file_uploader_state_value``
(the file's id, name, size and URLs). ``UploadingClient`` is ``StreamClient`` with these added.
"""

from __future__ import annotations

import asyncio
import urllib.request
import uuid

from stream_client import XSRF_COOKIE, StreamClient, _widget
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState


class UploadingClient(StreamClient):
    """A headless tab that can also choose a widget's value by its label and upload a file."""

    def __init__(self, *args, **options) -> None:
        super().__init__(*args, **options)
        self.session_id = ""
        self._file_urls: dict[str, object] = {}  # request id -> FileURLsResponse

    def _on_new_session(self, session, metadata) -> None:
        super()._on_new_session(session, metadata)
        self.session_id = session.initialize.session_id or self.session_id

    def _on_file_urls_response(self, response, metadata) -> None:
        self._file_urls[response.response_id] = response

    def _forget_inactive_widgets(self) -> None:
        uploads = {k: v for k, v in self.widgets.items() if v[0] == "file_uploader_state_value"}
        super()._forget_inactive_widgets()  # the uploader is not one the base client keeps; its file stays chosen
        self.widgets.update({k: v for k, v in uploads.items() if k in self._uploader_ids()})

    def _uploader_ids(self) -> set[str]:
        return {e.file_uploader.id for e in self.elements("file_uploader")}

    async def choose(self, label_startswith: str, value) -> None:
        """Set the first widget so labelled to ``value`` (a selectbox or radio: the option's text) and rerun."""
        for element in self.elements():
            widget = _widget(element)
            if widget is not None and widget[1].startswith(label_startswith):
                self.widgets[getattr(element, element.WhichOneof("type")).id] = (widget[0], value)
                await self.rerun()
                return
        raise LookupError(f"no widget labelled {label_startswith!r} on the page")

    async def click(self, label_startswith: str) -> None:
        """Press the first button so labelled: one rerun carrying its trigger, as the frontend sends it."""
        button = next((e.button for e in self.elements("button") if e.button.label.startswith(label_startswith)), None)
        if button is None:
            raise LookupError(f"no button labelled {label_startswith!r} on the page")
        self.widgets[button.id] = ("trigger_value", True)
        try:
            await self.rerun()
        finally:
            del self.widgets[button.id]  # a trigger is true for one run only

    async def upload(self, label_startswith: str, name: str, data: bytes, mime: str, timeout: float = 60) -> None:
        """Upload ``data`` as the file ``name`` to the uploader so labelled, and rerun with it chosen."""
        uploader, fragment_id = next(((n.proto.file_uploader, n.fragment) for _, n in sorted(self.nodes.items())
                                      if not n.is_block and n.proto.WhichOneof("type") == "file_uploader"
                                      and n.proto.file_uploader.label.startswith(label_startswith)), (None, ""))
        if uploader is None:
            raise LookupError(f"no file uploader labelled {label_startswith!r} on the page")
        request_id, msg = str(uuid.uuid4()), BackMsg()
        msg.file_urls_request.request_id, msg.file_urls_request.session_id = request_id, self.session_id
        msg.file_urls_request.file_names.append(name)
        await self._ws.send(msg.SerializeToString())
        await self.wait_for(lambda c: request_id in c._file_urls, timeout)
        response = self._file_urls.pop(request_id)
        if response.error_msg:
            raise RuntimeError(response.error_msg)
        urls = response.file_urls[0]
        await asyncio.to_thread(self._put, urls.upload_url, name, data, mime)
        state = FileUploaderState()
        state.uploaded_file_info.add(file_id=urls.file_id, name=name, size=len(data), file_urls=urls)
        self.widgets[uploader.id] = ("file_uploader_state_value", state)
        await self.rerun(fragment_id or "")  # as the browser does: an uploader in a fragment reruns that fragment

    def _put(self, url: str, name: str, data: bytes, mime: str) -> None:
        boundary = uuid.uuid4().hex
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {mime}\r\n\r\n".encode(), data, f"\r\n--{boundary}--\r\n".encode()])
        headers = {**self._cookie(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        if XSRF_COOKIE in self.cookies:
            headers["X-Xsrftoken"] = self.cookies[XSRF_COOKIE]
        full = url if url.startswith("http") else self.base_url + url
        with urllib.request.urlopen(urllib.request.Request(full, data=body, method="PUT", headers=headers),
                                    timeout=120) as reply:
            if reply.status != 204:
                raise RuntimeError(f"the upload was answered {reply.status}")


async def connect(base_url: str, path: str = "", query_string: str = "", **options) -> UploadingClient:
    """A new tab that can upload, on ``base_url/path?query_string`` (``options``: ``cookies``, ``fetch_media``)."""
    return await UploadingClient(base_url, **options).connect(path, query_string)
