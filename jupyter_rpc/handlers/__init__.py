"""The route table: nouns under ``{base_url}/jupyter-rpc/``, verbs are HTTP methods."""

from __future__ import annotations

from typing import Any

from .base import RPCHandler, Services
from .clusters import (
    AuthHandler,
    ClustersHandler,
    ConnectHandler,
    HistoryHandler,
    JobActionHandler,
    JobHandler,
    JobsHandler,
    OneClusterHandler,
    OutputHandler,
    ResubmitHandler,
    SubmitSchemaHandler,
    TestJobHandler,
    TrustHandler,
)
from .files import DownloadHandler, FilesHandler, UploadHandler
from .functions import (
    BackendCallsHandler,
    BackendHandler,
    BackendsHandler,
    BatchCallsHandler,
    CallDownloadHandler,
    CallHandler,
    CallsHandler,
    CancelCallsHandler,
    FunctionsHandler,
    NotFoundHandler,
    RootHandler,
    WaitCallsHandler,
)
from .kernels import (
    KernelEnvHandler,
    KernelProfileHandler,
    KernelStartHandler,
    KernelStartsHandler,
)
from .placement import PlacementHandler
from .sessions import (
    AppFormHandler,
    AppHandler,
    AppsHandler,
    ProxyHandler,
    SessionHandler,
    SessionsHandler,
)
from .terminals import TerminalHandler, TerminalsHandler, TerminalSocketHandler
from .workflows import (
    NotebooksHandler,
    RunFormHandler,
    RunHandler,
    RunsHandler,
    SaveAsTemplateHandler,
    WorkflowHandler,
    WorkflowPlacementHandler,
    WorkflowsHandler,
)

NAME = r"(?P<backend>[^/]+)"
CALL_ID = r"(?P<call_id>[^/]+)"
CLUSTER = r"(?P<cluster>[^/]+)"
JOB = r"(?P<job_id>[^/]+)"
PATH = r"(?P<path>.*)"
TERMINAL = r"(?P<terminal>[^/]+)"
SESSION = r"(?P<session>[^/]+)"
APP = r"(?P<app>[^/]+)"
C = "/jupyter-rpc/clusters"


def routes(services: Services) -> list[tuple[str, type[RPCHandler], dict[str, Any]]]:
    """Every route of the extension, with its injected services."""
    kwargs = {"services": services}
    table: list[tuple[str, type[RPCHandler]]] = [
        (r"/jupyter-rpc/?", RootHandler),
        (r"/jupyter-rpc/backends/?", BackendsHandler),
        (rf"/jupyter-rpc/backends/{NAME}/?", BackendHandler),
        (rf"/jupyter-rpc/backends/{NAME}/functions/?", FunctionsHandler),
        (rf"/jupyter-rpc/backends/{NAME}/calls/?", BackendCallsHandler),
        (rf"/jupyter-rpc/backends/{NAME}/calls/batch/?", BatchCallsHandler),
        (r"/jupyter-rpc/calls/?", CallsHandler),
        (r"/jupyter-rpc/calls/wait/?", WaitCallsHandler),  # before calls/{call_id}
        (r"/jupyter-rpc/calls/cancel/?", CancelCallsHandler),
        (rf"/jupyter-rpc/calls/{CALL_ID}/?", CallHandler),
        (rf"/jupyter-rpc/calls/{CALL_ID}/download/?", CallDownloadHandler),
        (r"/jupyter-rpc/placement/?", PlacementHandler),
        (r"/jupyter-rpc/workflows/(?P<workflow>[^/]+)/placement/?", WorkflowPlacementHandler),
        (rf"{C}/?", ClustersHandler),
        (rf"{C}/{CLUSTER}/?", OneClusterHandler),
        (rf"{C}/{CLUSTER}/connect/?", ConnectHandler),
        (rf"{C}/{CLUSTER}/trust/?", TrustHandler),
        (rf"{C}/{CLUSTER}/auth/?", AuthHandler),
        (rf"{C}/{CLUSTER}/jobs/?", JobsHandler),
        (rf"{C}/{CLUSTER}/jobs/test/?", TestJobHandler),
        (rf"{C}/{CLUSTER}/jobs/{JOB}/?", JobHandler),
        (rf"{C}/{CLUSTER}/jobs/{JOB}/(?P<action>hold|release)/?", JobActionHandler),
        (rf"{C}/{CLUSTER}/jobs/{JOB}/resubmit/?", ResubmitHandler),
        (rf"{C}/{CLUSTER}/jobs/{JOB}/output/?", OutputHandler),
        (rf"{C}/{CLUSTER}/jobs/{JOB}/save-as-template/?", SaveAsTemplateHandler),
        (rf"{C}/{CLUSTER}/history/?", HistoryHandler),
        (rf"{C}/{CLUSTER}/submit-schema/?", SubmitSchemaHandler),
        (rf"{C}/{CLUSTER}/workflows/?", WorkflowsHandler),
        (rf"{C}/{CLUSTER}/workflows/(?P<workflow>[^/]+)/?", WorkflowHandler),
        (rf"{C}/{CLUSTER}/notebooks/?", NotebooksHandler),
        (rf"{C}/{CLUSTER}/runs/?", RunsHandler),
        (rf"{C}/{CLUSTER}/runs/(?P<run>[^/]+)/?", RunHandler),
        (rf"{C}/{CLUSTER}/runs/(?P<run>[^/]+)/form/?", RunFormHandler),
        (rf"{C}/{CLUSTER}/files/?{PATH}", FilesHandler),
        (rf"{C}/{CLUSTER}/download/{PATH}", DownloadHandler),
        (rf"{C}/{CLUSTER}/upload/{PATH}", UploadHandler),
        (rf"{C}/{CLUSTER}/kernel-env/?", KernelEnvHandler),
        (rf"{C}/{CLUSTER}/kernel-profiles/(?P<profile>[^/]+)/?", KernelProfileHandler),
        (rf"{C}/{CLUSTER}/terminals/?", TerminalsHandler),
        (rf"{C}/{CLUSTER}/terminals/{TERMINAL}/?", TerminalHandler),
        (rf"{C}/{CLUSTER}/terminals/{TERMINAL}/websocket/?", TerminalSocketHandler),  # type: ignore[list-item]
        (r"/jupyter-rpc/apps/?", AppsHandler),
        (rf"/jupyter-rpc/apps/{APP}/?", AppHandler),
        (rf"/jupyter-rpc/apps/{APP}/form/?", AppFormHandler),
        (r"/jupyter-rpc/sessions/?", SessionsHandler),
        (rf"/jupyter-rpc/sessions/{SESSION}/?", SessionHandler),
        (rf"/jupyter-rpc/sessions/{SESSION}/proxy/?{PATH}", ProxyHandler),  # type: ignore[list-item]
        (r"/jupyter-rpc/kernels/starting/?", KernelStartsHandler),
        (r"/jupyter-rpc/kernels/starting/(?P<kernel>[^/]+)/?", KernelStartHandler),
        (r"/jupyter-rpc/(?P<path>.*)", NotFoundHandler),
    ]
    return [(pattern, handler, kwargs) for pattern, handler in table]


__all__ = ["RPCHandler", "Services", "routes"]
