"""CRI runtime.v1 gRPC servicers over node_agent.runtime (grpc.aio on a unix socket).

Each RPC translates its request (convert.py), runs the runtime call in a worker thread (the runtime does blocking
process and file work), and maps the runtime's typed failures once: NotFound -> NOT_FOUND, InvalidArgument ->
INVALID_ARGUMENT, FailedPrecondition -> FAILED_PRECONDITION, DeadlineExceeded -> DEADLINE_EXCEEDED, anything else
expected -> UNKNOWN, all with the runtime's message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from node_agent.cri import convert
from node_agent.cri.pb import api_pb2 as pb
from node_agent.cri.pb import api_pb2_grpc as pb_grpc
from node_agent.cri.streaming import Pending, StreamingServer
from node_agent.runtime.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RuntimeFailure,
)
from node_agent.runtime.runtime import Runtime

RUNTIME_NAME = "kemu"
RUNTIME_VERSION = "0.1.0"
API_VERSION = "v1"

_CODES = [(NotFound, grpc.StatusCode.NOT_FOUND), (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
          (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION), (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
          (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED), (RuntimeFailure, grpc.StatusCode.UNKNOWN)]

T = TypeVar("T")


def rpc(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await fn(self, request, context)
        except RuntimeFailure as e:
            code = next(c for cls, c in _CODES if isinstance(e, cls))
            await context.abort(code, str(e))
            raise  # unreachable: abort raises
    return wrapper


class RuntimeServicer(pb_grpc.RuntimeServiceServicer):
    def __init__(self, runtime: Runtime, streaming: StreamingServer) -> None:
        self.rt = runtime
        self.streaming = streaming

    async def _t(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """A cheap read of the runtime's records (lists, statuses): run on the event loop when the runtime's lock
        is free -- a kubelet makes several per pod every second, and a thread hop costs more than the read --
        and in a thread otherwise, so the loop never waits for the lock."""
        if self.rt.lock.acquire(blocking=False):
            try:
                return fn(*args)
            finally:
                self.rt.lock.release()
        return await asyncio.to_thread(fn, *args)

    @rpc
    async def Version(self, request: Any, context: Any) -> Any:
        return pb.VersionResponse(version="0.1.0", runtime_name=RUNTIME_NAME, runtime_version=RUNTIME_VERSION,
                                  runtime_api_version=API_VERSION)

    @rpc
    async def Status(self, request: Any, context: Any) -> Any:
        conds = [pb.RuntimeCondition(type="RuntimeReady", status=True),
                 pb.RuntimeCondition(type="NetworkReady", status=True)]
        return pb.StatusResponse(status=pb.RuntimeStatus(conditions=conds))

    @rpc
    async def UpdateRuntimeConfig(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.update_pod_cidr, request.runtime_config.network_config.pod_cidr)
        return pb.UpdateRuntimeConfigResponse()

    @rpc
    async def RunPodSandbox(self, request: Any, context: Any) -> Any:
        sid = await self._t(self.rt.run_sandbox, convert.sandbox_config(request.config))
        return pb.RunPodSandboxResponse(pod_sandbox_id=sid)

    @rpc
    async def StopPodSandbox(self, request: Any, context: Any) -> Any:
        try:
            await self._t(self.rt.stop_sandbox, request.pod_sandbox_id)
        except NotFound:
            pass  # stopping a removed sandbox succeeds, as in containerd
        return pb.StopPodSandboxResponse()

    @rpc
    async def RemovePodSandbox(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.remove_sandbox, request.pod_sandbox_id)
        return pb.RemovePodSandboxResponse()

    @rpc
    async def PodSandboxStatus(self, request: Any, context: Any) -> Any:
        sb = await self._read(self.rt.sandbox, request.pod_sandbox_id)
        return pb.PodSandboxStatusResponse(status=convert.sandbox_status(sb), timestamp=time.time_ns())

    @rpc
    async def ListPodSandbox(self, request: Any, context: Any) -> Any:
        f = request.filter

        def match(sb: dict[str, Any]) -> bool:
            return sb["id"].startswith(f.id) and convert.matches(sb["labels"], f.label_selector)
        items = []
        for sb in await self._read(self.rt.list_sandboxes, match):
            if f.HasField("state") and convert.pod_sandbox(sb).state != f.state.state:
                continue
            items.append(convert.pod_sandbox(sb))
        return pb.ListPodSandboxResponse(items=items)

    @rpc
    async def CreateContainer(self, request: Any, context: Any) -> Any:
        cid = await self._t(self.rt.create_container, request.pod_sandbox_id,
                            convert.container_config(request.config))
        return pb.CreateContainerResponse(container_id=cid)

    @rpc
    async def StartContainer(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.start_container, request.container_id)
        return pb.StartContainerResponse()

    @rpc
    async def StopContainer(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.stop_container, request.container_id, int(request.timeout))
        return pb.StopContainerResponse()

    @rpc
    async def RemoveContainer(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.remove_container, request.container_id)
        return pb.RemoveContainerResponse()

    @rpc
    async def ListContainers(self, request: Any, context: Any) -> Any:
        f = request.filter

        def match(c: dict[str, Any]) -> bool:
            return c["id"].startswith(f.id) and c["sandbox_id"].startswith(f.pod_sandbox_id) \
                and convert.matches(c["labels"], f.label_selector)
        out = []
        for c in await self._read(self.rt.list_containers, match):
            msg = convert.container(c)
            if f.HasField("state") and msg.state != f.state.state:
                continue
            out.append(msg)
        return pb.ListContainersResponse(containers=out)

    @rpc
    async def ContainerStatus(self, request: Any, context: Any) -> Any:
        c = await self._read(self.rt.container, request.container_id)
        return pb.ContainerStatusResponse(status=convert.container_status(c))

    @rpc
    async def UpdateContainerResources(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.update_resources, request.container_id, convert.limits(request.linux))
        return pb.UpdateContainerResourcesResponse()

    @rpc
    async def ReopenContainerLog(self, request: Any, context: Any) -> Any:
        await self._t(self.rt.reopen_log, request.container_id)
        return pb.ReopenContainerLogResponse()

    @rpc
    async def ExecSync(self, request: Any, context: Any) -> Any:
        code, out, err = await self._t(self.rt.exec_sync, request.container_id, list(request.cmd),
                                       float(request.timeout))
        return pb.ExecSyncResponse(stdout=out, stderr=err, exit_code=code)

    @rpc
    async def Exec(self, request: Any, context: Any) -> Any:
        c = await self._t(self.rt.container, request.container_id)
        if c["state"] != "running":
            raise FailedPrecondition(f"container {request.container_id} is not running")
        if not request.cmd:
            raise InvalidArgument("exec command is empty")
        if not (request.stdin or request.stdout or request.stderr):
            raise InvalidArgument("one of stdin, stdout, or stderr must be set")
        url = self.streaming.register(Pending("exec", c["id"], list(request.cmd), request.tty, request.stdin,
                                              request.stdout, request.stderr and not request.tty))
        return pb.ExecResponse(url=url)

    @rpc
    async def Attach(self, request: Any, context: Any) -> Any:
        c = await self._t(self.rt.container, request.container_id)
        url = self.streaming.register(Pending("attach", c["id"], [], request.tty, request.stdin, request.stdout,
                                              request.stderr))
        return pb.AttachResponse(url=url)

    @rpc
    async def PortForward(self, request: Any, context: Any) -> Any:
        sb = await self._t(self.rt.sandbox, request.pod_sandbox_id)
        url = self.streaming.register(Pending("portforward", sb["id"], ports=list(request.port)))
        return pb.PortForwardResponse(url=url)

    def _stats(self, c: dict[str, Any]) -> Any:
        s = self.rt.stats(c["id"])
        now = time.time_ns()
        return pb.ContainerStats(
            attributes=pb.ContainerAttributes(id=c["id"], metadata=pb.ContainerMetadata(name=c["name"],
                                                                                        attempt=c["attempt"]),
                                              labels=c["labels"], annotations=c["annotations"]),
            cpu=pb.CpuUsage(timestamp=now, usage_core_nano_seconds=pb.UInt64Value(value=s.cpu_ns)),
            memory=pb.MemoryUsage(timestamp=now, working_set_bytes=pb.UInt64Value(value=s.working_set),
                                  usage_bytes=pb.UInt64Value(value=s.memory_usage)))

    @rpc
    async def ContainerStats(self, request: Any, context: Any) -> Any:
        c = await self._t(self.rt.container, request.container_id)
        return pb.ContainerStatsResponse(stats=await self._t(self._stats, c))

    @rpc
    async def ListContainerStats(self, request: Any, context: Any) -> Any:
        f = request.filter

        def collect() -> list[Any]:
            out = []
            for c in self.rt.list_containers():
                if c["state"] != "running":
                    continue
                if f.id and not c["id"].startswith(f.id):
                    continue
                if f.pod_sandbox_id and not c["sandbox_id"].startswith(f.pod_sandbox_id):
                    continue
                if convert.matches(c["labels"], f.label_selector):
                    out.append(self._stats(c))
            return out
        return pb.ListContainerStatsResponse(stats=await self._t(collect))


class ImageServicer(pb_grpc.ImageServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    @rpc
    async def ListImages(self, request: Any, context: Any) -> Any:
        imgs = await asyncio.to_thread(self.rt.images.all)
        want = request.filter.image.image
        if want:
            try:
                wanted = {self.rt.image(want).id}
            except NotFound:
                wanted = set()
            imgs = [i for i in imgs if i.id in wanted]
        return pb.ListImagesResponse(images=[convert.image(i) for i in imgs])

    @rpc
    async def ImageStatus(self, request: Any, context: Any) -> Any:
        try:
            img = await asyncio.to_thread(self.rt.image, request.image.image)
        except NotFound:
            return pb.ImageStatusResponse()  # CRI: a missing image is an empty response, not an error
        return pb.ImageStatusResponse(image=convert.image(img))

    @rpc
    async def PullImage(self, request: Any, context: Any) -> Any:
        img = await asyncio.to_thread(self.rt.pull, request.image.image)
        return pb.PullImageResponse(image_ref=img.id)

    @rpc
    async def RemoveImage(self, request: Any, context: Any) -> Any:
        await asyncio.to_thread(self.rt.remove_image, request.image.image)
        return pb.RemoveImageResponse()

    @rpc
    async def ImageFsInfo(self, request: Any, context: Any) -> Any:
        st = os.statvfs(self.rt.images.dir)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        fs = pb.FilesystemUsage(timestamp=time.time_ns(), fs_id=pb.FilesystemIdentifier(mountpoint=str(self.rt.root)),
                                used_bytes=pb.UInt64Value(value=used),
                                inodes_used=pb.UInt64Value(value=st.f_files - st.f_ffree))
        return pb.ImageFsInfoResponse(image_filesystems=[fs], container_filesystems=[fs])


async def serve(runtime: Runtime, socket_path: str, stop: asyncio.Event, max_threads: int = 64) -> None:
    # Runtime calls block on processes (a shim starting, a container stopping within its grace period) more than
    # they compute: asyncio's default pool (cores + 4 threads) would queue a node's pod starts and status calls
    # behind a few slow ones.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="cri"))
    streaming = StreamingServer(runtime)
    await streaming.start()
    server = grpc.aio.server()
    pb_grpc.add_RuntimeServiceServicer_to_server(RuntimeServicer(runtime, streaming), server)
    pb_grpc.add_ImageServiceServicer_to_server(ImageServicer(runtime), server)
    if os.path.exists(socket_path):
        os.unlink(socket_path)  # a stale socket of a previous run
    tmp = socket_path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    server.add_insecure_port(f"unix://{tmp}")
    await server.start()
    # publish the socket only once it serves, so "the socket exists" means "the runtime is up"
    os.rename(tmp, socket_path)
    try:
        await stop.wait()
    finally:
        await server.stop(1)
        await streaming.stop()
