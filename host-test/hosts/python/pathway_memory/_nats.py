"""The NATS JetStream transport: this host's implementation of the WIT
interface ``pathway:memory/stream@0.3.0`` (see ``wit/pathway.wit``).

The component keeps every rule of the log; this module only moves messages
between it and one JetStream stream, with `nats-py
<https://pypi.org/project/nats-py/>`_, the official client, and retries while
the server is away. The client is asyncio: it runs on an event loop in a
thread of its own, and each of the eight functions hands a coroutine to it
and waits (``asyncio.run_coroutine_threadsafe(...).result()``), so the
component's synchronous imports stay synchronous.

The mapping (one stream ``NAME`` per log):

- topic ``events`` / ``snapshot`` / ``commit`` / ``quarantine`` -> subject
  ``pathway.NAME.<topic>``;
- ``connect``: connect, then the stream's info; a missing stream is created
  (subjects ``pathway.NAME.>``, ``num_replicas``, a 120 s duplicate window)
  only when ``replicas`` was given, else ``missing``. Returns the server's
  ``max_payload``;
- ``publish``: every message sent with ``Nats-Msg-Id`` (and
  ``Nats-Expected-Last-Subject-Sequence`` for ``expect-last``) before any
  ack is awaited, on one reply subscription of this transport; messages
  without an ack are sent again with the same id until the time budget;
- ``last``: ``STREAM.MSG.GET`` ``last_by_subj``; ``read``: an ordered
  consumer (filtered on the subject, from the start sequence) kept open
  between reads that continue where the last one stopped; ``purge``:
  ``STREAM.PURGE`` with ``filter`` and ``seq``; ``remove``:
  ``STREAM.MSG.DELETE``; ``stats``: ``STREAM.INFO`` with ``subjects_filter``.

Every function retries while the server does not answer (a restart, a
leader election): each request waits at most :data:`REQUEST_TIMEOUT`, with a
pause of 50 ms doubling to 800 ms between tries, until the time budget is
spent; then it fails ``unavailable`` with the last reason, the tries and
the time taken.

Why ``publish`` does not use ``JetStreamContext.publish_async``: in nats-py
2.16.0 an ack that is an error (such as ``wrong last sequence``, err_code
10071) raises inside the client's reply handler and the future it returned
never completes, so a conflict would be seen as a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import (Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence, Tuple,
                    TypeVar)

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from .errors import Case

#: The interface this module implements.
INTERFACE = "pathway:memory/stream@0.3.0"
#: The WIT ``topic`` cases, the last part of their subjects.
TOPICS = ("events", "snapshot", "commit", "quarantine")
#: Seconds one request (or one round of acks) waits before it is tried again.
REQUEST_TIMEOUT = 2.0
#: Pause after the first failed try; doubled after each, up to BACKOFF_MAX.
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 0.8
#: Seconds each function may retry when no call timeout bounds it.
DEFAULT_BUDGET = 30.0
#: The duplicate window of a stream this transport creates, in seconds.
DUPLICATE_WINDOW = 120.0
#: How often the client tries a server again while reconnecting, in seconds.
RECONNECT_WAIT = 0.25

#: JetStream API error codes this transport decides on.
ERR_NO_MESSAGE = 10037
ERR_SEQUENCE_NOT_FOUND = 10043
ERR_STREAM_NAME_IN_USE = 10058
ERR_STREAM_NOT_FOUND = 10059
ERR_WRONG_LAST_SEQUENCE = 10071

T = TypeVar("T")


# -- the WIT records --------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """WIT ``target``."""

    name: str
    location: str


@dataclass(frozen=True)
class Outgoing:
    """WIT ``outgoing``: ``topic`` is the case name, ``expect_last`` ``None``
    when the WIT option is ``none``."""

    topic: str
    id: str
    headers: List[Tuple[str, str]]
    payload: bytes
    expect_last: Optional[int]


@dataclass(frozen=True)
class StreamMessage:
    """WIT ``message``."""

    seq: int
    headers: List[Tuple[str, str]]
    payload: bytes


@dataclass(frozen=True)
class Batch:
    """WIT ``batch``."""

    messages: List[StreamMessage]
    end: bool


@dataclass(frozen=True)
class Stats:
    """WIT ``stats``: ``counts`` pairs a topic's case name with its messages."""

    bytes: int
    counts: List[Tuple[str, int]]


@dataclass(frozen=True)
class Unavailable:
    """WIT ``unavailable``."""

    reason: str
    tries: int
    millis: int
    acked: int


class StreamFailure(Exception):
    """A WIT ``stream-error``: ``case`` is the variant as the component gets
    it (``Case("missing")``, ``Case("denied", text)``, ...)."""

    def __init__(self, case: Case) -> None:
        payload = case.payload
        text = payload.reason if isinstance(payload, Unavailable) else payload
        super().__init__(case.tag if text is None else f"{case.tag}: {text}")
        self.case = case


def _missing() -> StreamFailure:
    return StreamFailure(Case("missing"))


def _refused(text: str) -> StreamFailure:
    return StreamFailure(Case("refused", text))


def _denied(text: str) -> StreamFailure:
    return StreamFailure(Case("denied", text))


class _Retry(Exception):
    """A try failed in a way that another try may fix (no answer, no
    responders, a JetStream API error with code 503, the connection lost)."""


class _RetryThenRefuse(_Retry):
    """A refusal that another try may not repeat (a stream the cluster
    cannot place yet): tried again, and ``refused`` once the budget is
    spent."""


class _ApiError(Exception):
    """A JetStream API error answer."""

    def __init__(self, error: Dict[str, Any]) -> None:
        self.code = int(error.get("code") or 0)
        self.err_code = int(error.get("err_code") or 0)
        self.description = str(error.get("description") or "")
        super().__init__(self.text())

    def text(self) -> str:
        return f"{self.description} (code {self.code}, err_code {self.err_code})"


#: Exceptions of the client that a later try may not see.
_TRANSIENT = (nats.errors.TimeoutError, nats.errors.NoRespondersError,
              nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError,
              nats.errors.OutboundBufferLimitError, nats.errors.StaleConnectionError,
              nats.errors.UnexpectedEOF, nats.errors.FlushTimeoutError,
              asyncio.TimeoutError, ConnectionError, OSError)


def _words(e: BaseException) -> str:
    """An exception in words for ``unavailable``'s reason."""
    if isinstance(e, (nats.errors.TimeoutError, asyncio.TimeoutError)):
        return "no answer within the request timeout"
    if isinstance(e, nats.errors.NoRespondersError):
        return "no responders (JetStream is not available on the server, or has no leader yet)"
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _backoff(tries: int) -> float:
    return min(BACKOFF_FIRST * (2 ** (tries - 1)), BACKOFF_MAX)


def _strip_nats(headers: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    return [(k, v) for k, v in headers if not k.lower().startswith("nats-")]


def _parse_headers(raw: bytes) -> List[Tuple[str, str]]:
    """Headers of a stored message as ``STREAM.MSG.GET`` returns them
    (``NATS/1.0\\r\\nName: value\\r\\n...``), in order."""
    lines = raw.split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            continue
        headers.append((name.strip().decode("utf-8", "replace"),
                        value.strip().decode("utf-8", "replace")))
    return headers


class _Reader:
    """An ordered consumer left open after a read, reused by the read that
    starts where this one stopped."""

    def __init__(self, topic: str, sub: Any, next_seq: int, epoch: int) -> None:
        self.topic = topic
        self.sub = sub
        #: The sequence the next read must start at to continue here.
        self.next_seq = next_seq
        #: Messages the server said followed the last one delivered (None:
        #: none delivered yet).
        self.pending: Optional[int] = None
        #: The connection epoch it was made in: a reconnect drops it.
        self.epoch = epoch


class NatsStream:
    """The transport for one stream: the eight functions of the WIT
    ``stream`` interface, synchronous, over a NATS connection run on a
    background event loop thread.

    :param url: the server URL, or several comma-separated (credentials as
        ``nats://user:pass@host:port``).
    :param stream: the JetStream stream's name.
    :param replicas: create the stream with this many replicas when it is
        missing; ``None``: a missing stream is an error (``missing``).
    :param budget: seconds each function may retry while the server does
        not answer (settable).
    """

    def __init__(self, url: str, stream: str, replicas: Optional[int] = None,
                 budget: float = DEFAULT_BUDGET) -> None:
        self.url = url
        self.stream = stream
        self.replicas = replicas
        self.budget = budget
        self.servers = [u.strip() for u in url.split(",") if u.strip()]
        self._subjects = {topic: f"pathway.{stream}.{topic}" for topic in TOPICS}
        self._topic_of = {subject: topic for topic, subject in self._subjects.items()}
        self._nc: Optional[NatsClient] = None
        self._js: Any = None
        self._acks: Dict[str, "asyncio.Future[Msg]"] = {}
        self._ack_prefix: Optional[str] = None
        self._ack_token = 0
        self._reader: Optional[_Reader] = None
        self._epoch = 0
        self._denied: Optional[str] = None
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name=f"pathway-nats-{stream}", daemon=True)
        self._thread.start()

    # -- running on the loop -------------------------------------------------

    def _run(self, coro: Awaitable[T]) -> T:
        if self._closed:
            raise RuntimeError("this NATS transport is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        # Every coroutine is bounded by the budget; this bound is a safety net.
        try:
            return future.result(self.budget + 4 * REQUEST_TIMEOUT + 10)
        except TimeoutError:
            future.cancel()
            raise StreamFailure(Case("unavailable", Unavailable(
                "the NATS client did not finish the call in time", 1,
                round((self.budget + 4 * REQUEST_TIMEOUT + 10) * 1000), 0))) from None

    def close(self) -> None:
        """Closes the connection and stops the loop thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        # Even if the loop has not started running yet: it runs these first.
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _shutdown(self) -> None:
        await self._drop_reader()
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            try:
                await asyncio.wait_for(nc.close(), 3)
            except Exception:
                pass
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1)

    # -- the client's callbacks ----------------------------------------------

    async def _on_error(self, e: Exception) -> None:
        # The server's only word for a refused publish or subscription: the
        # call waiting for its answer turns it into `denied`.
        text = str(e)
        if "permissions violation" in text.lower():
            self._denied = text

    async def _on_disconnected(self) -> None:
        self._epoch += 1

    async def _on_reconnected(self) -> None:
        self._epoch += 1

    def _take_denied(self) -> Optional[str]:
        text, self._denied = self._denied, None
        return text

    # -- retrying --------------------------------------------------------------

    async def _retrying(self, attempt: Callable[[float], Awaitable[T]],
                        acked: Callable[[], int] = lambda: 0,
                        started: Optional[float] = None) -> T:
        """Runs ``attempt(timeout)`` until it returns, raises a
        :class:`StreamFailure`, or the budget (counted from ``started``,
        default now) is spent (``unavailable``)."""
        # A violation reported after an earlier call ended is not this
        # call's: only one seen from now on turns a failure into `denied`.
        self._take_denied()
        if started is None:
            started = time.monotonic()
        deadline = started + self.budget
        tries = 0
        while True:
            tries += 1
            timeout = max(min(REQUEST_TIMEOUT, deadline - time.monotonic()), 0.05)
            refusal: Optional[str] = None
            try:
                if self._nc is None or self._nc.is_closed:
                    raise _Retry("not connected")
                return await attempt(timeout)
            except StreamFailure:
                raise
            except _ApiError as e:
                if e.code != 503:
                    raise _refused(e.text()) from None
                reason = e.text()
            except _RetryThenRefuse as e:
                reason = refusal = str(e)
            except _Retry as e:
                reason = str(e)
            except _TRANSIENT as e:
                reason = _words(e)
            denied = self._take_denied()
            if denied is not None:
                raise _denied(denied)
            pause = _backoff(tries)
            if time.monotonic() + pause >= deadline:
                if refusal is not None:
                    raise _refused(refusal)
                millis = round((time.monotonic() - started) * 1000)
                raise StreamFailure(Case("unavailable", Unavailable(reason, tries, millis,
                                                                    acked())))
            await asyncio.sleep(pause)

    async def _api(self, subject: str, body: Optional[Dict[str, Any]], timeout: float
                   ) -> Dict[str, Any]:
        """A JetStream API request (``$JS.API.<subject>``); an error answer
        raises :class:`_ApiError`."""
        assert self._nc is not None
        data = b"" if body is None else json.dumps(body).encode()
        msg = await self._nc.request(f"$JS.API.{subject}", data, timeout=timeout)
        try:
            answer = json.loads(msg.data)
        except ValueError:
            raise _Retry(f"an answer that is not JSON: {msg.data[:200]!r}") from None
        error = answer.get("error")
        if error:
            raise _ApiError(error)
        return answer  # type: ignore[no-any-return]

    def _api_failure(self, e: _ApiError) -> BaseException:
        if e.err_code == ERR_STREAM_NOT_FOUND:
            return _missing()
        return e

    # -- target, connect ---------------------------------------------------------

    def target(self) -> Target:
        """WIT ``target``: the stream's name and the URL as given. No I/O."""
        return Target(self.stream, self.url)

    def connect(self) -> int:
        """WIT ``connect``: connects (once) and opens the stream, creating it
        when missing if ``replicas`` was given. Returns ``max_payload``."""
        return self._run(self._connect())

    async def _connect(self) -> int:
        started = time.monotonic()
        if self._nc is None or self._nc.is_closed:
            await self._open_connection(started)
        assert self._nc is not None

        async def open_stream(timeout: float) -> int:
            try:
                await self._api(f"STREAM.INFO.{self.stream}", None, timeout)
            except _ApiError as e:
                if e.err_code != ERR_STREAM_NOT_FOUND:
                    raise
                if self.replicas is None:
                    raise _missing() from None
                await self._create_stream(timeout)
            return int(self._nc.max_payload) if self._nc is not None else 0

        return await self._retrying(open_stream, started=started)

    async def _create_stream(self, timeout: float) -> None:
        config = {
            "name": self.stream,
            "subjects": [f"pathway.{self.stream}.>"],
            "num_replicas": self.replicas,
            "duplicate_window": int(DUPLICATE_WINDOW * 1_000_000_000),
        }
        try:
            await self._api(f"STREAM.CREATE.{self.stream}", config, timeout)
        except _ApiError as e:
            if e.err_code == ERR_STREAM_NAME_IN_USE:
                return  # another host created it meanwhile
            # A cluster may place it on a later try (a server joining): tried
            # again, and refused once the budget is spent.
            raise _RetryThenRefuse(e.text()) from None

    async def _open_connection(self, started: float) -> None:
        """Connects, retrying (the client's own reconnect loop, every
        RECONNECT_WAIT per server) until the budget; an authorization
        failure ends it at once (``denied``)."""
        attempts = 0
        last: List[Optional[BaseException]] = [None]
        refused = asyncio.Event()
        refusal_text: List[str] = []

        async def on_error(e: Exception) -> None:
            nonlocal attempts
            attempts += 1
            last[0] = e
            text = str(e).strip() or type(e).__name__
            if not refused.is_set() and (isinstance(e, nats.errors.AuthorizationError) or
                                         "authorization violation" in text.lower() or
                                         "authentication" in text.lower()):
                refusal_text.append(text)
                refused.set()
            await self._on_error(e)

        nc = NatsClient()
        connecting = asyncio.ensure_future(nc.connect(
            servers=self.servers,
            name="pathway-memory",
            error_cb=on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT,  # type: ignore[arg-type]
            connect_timeout=REQUEST_TIMEOUT,  # type: ignore[arg-type]
        ))
        refusal = asyncio.ensure_future(refused.wait())
        remaining = max(started + self.budget - time.monotonic(), 0.05)
        try:
            await asyncio.wait({connecting, refusal}, timeout=remaining,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            refusal.cancel()
        if connecting.done() and connecting.exception() is None:
            self._nc = nc
            self._js = nc.jetstream(timeout=REQUEST_TIMEOUT)
            self._ack_prefix = None
            self._epoch += 1
            return
        if not connecting.done():
            connecting.cancel()
            try:
                await connecting
            except BaseException:
                pass
        else:
            error = connecting.exception()
            last[0] = last[0] or error
        try:
            await asyncio.wait_for(nc.close(), 2)
        except BaseException:
            pass
        reason = _words(last[0]) if last[0] is not None else "no answer"
        if refused.is_set():
            raise _denied(refusal_text[0])
        millis = round((time.monotonic() - started) * 1000)
        raise StreamFailure(Case("unavailable", Unavailable(reason, max(attempts, 1), millis, 0)))

    # -- publish -----------------------------------------------------------------

    def publish(self, messages: Sequence[Outgoing]) -> List[int]:
        """WIT ``publish``: stores the messages in order; their sequences."""
        return self._run(self._publish(list(messages)))

    async def _on_ack(self, msg: Msg) -> None:
        prefix = self._ack_prefix
        if prefix is None or not msg.subject.startswith(prefix):
            return
        future = self._acks.pop(msg.subject[len(prefix):], None)
        if future is not None and not future.done():
            future.set_result(msg)

    async def _ack_subscription(self) -> str:
        if self._ack_prefix is None:
            assert self._nc is not None
            prefix = self._nc.new_inbox() + "."
            await self._nc.subscribe(prefix + "*", cb=self._on_ack)
            self._ack_prefix = prefix
        return self._ack_prefix

    async def _publish(self, messages: List[Outgoing]) -> List[int]:
        seqs: List[Optional[int]] = [None] * len(messages)
        prepared = []
        for m in messages:
            if m.topic not in self._subjects:
                raise _refused(f"unknown topic {m.topic!r}")
            headers: Dict[str, str] = {"Nats-Msg-Id": m.id}
            for name, value in m.headers:
                headers[name] = value
            if m.expect_last is not None:
                headers["Nats-Expected-Last-Subject-Sequence"] = str(m.expect_last)
            prepared.append((self._subjects[m.topic], bytes(m.payload), headers))

        async def attempt(timeout: float) -> List[int]:
            assert self._nc is not None
            prefix = await self._ack_subscription()
            waiting: Dict[int, asyncio.Future[Msg]] = {}
            try:
                # All sent before any ack is awaited (in order: each publish
                # only buffers), then every ack awaited.
                for i, (subject, payload, headers) in enumerate(prepared):
                    if seqs[i] is not None:
                        continue
                    self._ack_token += 1
                    token = str(self._ack_token)
                    future: asyncio.Future[Msg] = self._loop.create_future()
                    self._acks[token] = future
                    waiting[i] = future
                    await self._nc.publish(subject, payload, reply=prefix + token, headers=headers)
                if waiting:
                    await asyncio.wait(waiting.values(), timeout=timeout)
                failure: Optional[BaseException] = None
                for i, future in waiting.items():
                    if not future.done():
                        failure = failure or _Retry("no acknowledgement within the request "
                                                    "timeout")
                        continue
                    msg = future.result()
                    if msg.headers and msg.headers.get("Status") == "503":
                        failure = failure or _Retry(_words(nats.errors.NoRespondersError()))
                        continue
                    try:
                        answer = json.loads(msg.data)
                    except ValueError:
                        failure = failure or _Retry(f"an ack that is not JSON: {msg.data[:200]!r}")
                        continue
                    error = answer.get("error")
                    if error:
                        e = _ApiError(error)
                        if e.err_code == ERR_WRONG_LAST_SEQUENCE:
                            raise StreamFailure(Case("conflict"))
                        if e.err_code == ERR_STREAM_NOT_FOUND:
                            raise _missing()
                        if e.code == 503:
                            failure = failure or _Retry(e.text())
                            continue
                        raise _refused(e.text())
                    seqs[i] = int(answer["seq"])
                if failure is not None:
                    raise failure
                return [s for s in seqs if s is not None]
            finally:
                for token_future in waiting.values():
                    token_future.cancel()
                for token in [t for t, f in self._acks.items() if f.done()]:
                    self._acks.pop(token, None)

        return await self._retrying(attempt, acked=lambda: sum(s is not None for s in seqs))

    # -- last ----------------------------------------------------------------------

    def last(self, topic: str) -> Optional[StreamMessage]:
        """WIT ``last``: the topic's last message, ``None`` when it has none."""
        return self._run(self._retrying(
            lambda timeout: self._get({"last_by_subj": self._subject(topic)}, timeout)))

    def _subject(self, topic: str) -> str:
        subject = self._subjects.get(topic)
        if subject is None:
            raise _refused(f"unknown topic {topic!r}")
        return subject

    async def _get(self, request: Dict[str, Any], timeout: float) -> Optional[StreamMessage]:
        """``STREAM.MSG.GET``: the message, or ``None`` for "no message found"."""
        try:
            answer = await self._api(f"STREAM.MSG.GET.{self.stream}", request, timeout)
        except _ApiError as e:
            if e.err_code == ERR_NO_MESSAGE:
                return None
            raise self._api_failure(e) from None
        stored = answer["message"]
        raw = base64.b64decode(stored["hdrs"]) if stored.get("hdrs") else b""
        payload = base64.b64decode(stored["data"]) if stored.get("data") else b""
        return StreamMessage(int(stored["seq"]), _strip_nats(_parse_headers(raw)), payload)

    # -- read ------------------------------------------------------------------------

    def read(self, topic: str, start: int, max_bytes: int) -> Batch:
        """WIT ``read``: messages of ``topic`` from sequence ``start`` until
        their payloads (plus one byte each) reach ``max_bytes``, at least one
        when one exists; ``end`` when none followed the last one returned."""
        subject = self._subject(topic)
        return self._run(self._read(topic, subject, start, max_bytes))

    async def _drop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                await asyncio.wait_for(reader.sub.unsubscribe(), 1)
            except BaseException:
                pass

    async def _read(self, topic: str, subject: str, start: int, max_bytes: int) -> Batch:
        reader = self._reader
        if reader is not None and (reader.topic != topic or reader.next_seq != start
                                   or reader.epoch != self._epoch):
            await self._drop_reader()

        async def attempt(timeout: float) -> Batch:
            try:
                return await self._read_once(topic, subject, start, max_bytes, timeout)
            except BaseException:
                await self._drop_reader()
                raise

        return await self._retrying(attempt)

    async def _next_exists(self, subject: str, seq: int, timeout: float) -> bool:
        found = await self._get({"seq": max(seq, 1), "next_by_subj": subject}, timeout)
        return found is not None

    async def _open_reader(self, topic: str, subject: str, start: int, timeout: float
                           ) -> _Reader:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                opt_start_seq=max(start, 1))
        try:
            sub = await asyncio.wait_for(self._js.subscribe(
                subject, stream=self.stream, config=config, ordered_consumer=True), timeout)
        except nats.js.errors.APIError as e:
            if e.code == 503 or isinstance(e, nats.js.errors.ServiceUnavailableError):
                raise _Retry(str(e)) from None
            if e.err_code == ERR_STREAM_NOT_FOUND:
                raise _missing() from None
            raise _refused(f"{e.description} (code {e.code}, err_code {e.err_code})") from None
        reader = _Reader(topic, sub, start, self._epoch)
        self._reader = reader
        return reader

    async def _read_once(self, topic: str, subject: str, start: int, max_bytes: int,
                         timeout: float) -> Batch:
        reader = self._reader
        messages: List[StreamMessage] = []
        size = 0
        next_seq = start
        while True:
            if reader is None or (reader.sub.pending_msgs == 0 and not reader.pending):
                # Nothing delivered that the server said would follow: ask the
                # stream whether a message follows now (a publish since).
                if not await self._next_exists(subject, next_seq, timeout):
                    return Batch(messages, True)
                if messages:
                    # The consumer brings it to the next read.
                    return Batch(messages, False)
                if reader is None:
                    reader = await self._open_reader(topic, subject, start, timeout)
            try:
                msg = await reader.sub.next_msg(timeout=timeout)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                if messages:
                    await self._drop_reader()
                    return Batch(messages, False)
                raise _Retry("the ordered consumer delivered nothing within the request "
                             "timeout") from None
            metadata = msg.metadata
            seq = metadata.sequence.stream
            reader.pending = metadata.num_pending
            if seq < reader.next_seq:
                continue  # the client's consumer reset started before `start`
            reader.next_seq = seq + 1
            next_seq = seq + 1
            headers = _strip_nats((msg.headers or {}).items())
            messages.append(StreamMessage(seq, headers, bytes(msg.data)))
            size += len(msg.data) + 1
            if size >= max_bytes:
                if reader.pending or reader.sub.pending_msgs:
                    return Batch(messages, False)
                return Batch(messages, not await self._next_exists(subject, next_seq, timeout))

    # -- purge, remove -------------------------------------------------------------

    def purge(self, topic: str, below: int) -> None:
        """WIT ``purge``: removes the topic's messages with a sequence below
        ``below``."""
        subject = self._subject(topic)
        self._run(self._purge(subject, below))

    async def _purge(self, subject: str, below: int) -> None:
        await self._drop_reader()
        if below <= 1:
            return  # no sequence is below 1; a purge without seq would take all

        async def attempt(timeout: float) -> None:
            try:
                await self._api(f"STREAM.PURGE.{self.stream}",
                                {"filter": subject, "seq": below}, timeout)
            except _ApiError as e:
                raise self._api_failure(e) from None

        await self._retrying(attempt)

    def remove(self, seq: int) -> None:
        """WIT ``remove``: deletes the message ``seq``; one already gone is no error."""
        self._run(self._remove(seq))

    async def _remove(self, seq: int) -> None:
        await self._drop_reader()

        async def attempt(timeout: float) -> None:
            try:
                await self._api(f"STREAM.MSG.DELETE.{self.stream}",
                                {"seq": seq, "no_erase": True}, timeout)
            except _ApiError as e:
                # Already gone: "no message found" (10037, or 10057 "message
                # delete failed" with those words), "sequence not found".
                if e.err_code in (ERR_NO_MESSAGE, ERR_SEQUENCE_NOT_FOUND) or \
                        "no message found" in e.description.lower():
                    return
                raise self._api_failure(e) from None

        await self._retrying(attempt)

    # -- stats -------------------------------------------------------------------------

    def stats(self) -> Stats:
        """WIT ``stats``: the stream's bytes and each topic's messages."""
        return self._run(self._retrying(self._stats))

    async def _stats(self, timeout: float) -> Stats:
        try:
            answer = await self._api(f"STREAM.INFO.{self.stream}",
                                     {"subjects_filter": f"pathway.{self.stream}.>"}, timeout)
        except _ApiError as e:
            raise self._api_failure(e) from None
        state = answer.get("state") or {}
        subjects = state.get("subjects") or {}
        counts = [(self._topic_of[s], int(n)) for s, n in subjects.items() if s in self._topic_of]
        counts.sort(key=lambda pair: TOPICS.index(pair[0]))
        return Stats(int(state.get("bytes") or 0), counts)


__all__ = ["NatsStream", "StreamFailure", "Target", "Outgoing", "StreamMessage", "Batch",
           "Stats", "Unavailable", "INTERFACE", "TOPICS"]
