"""The Python peer of bench/run-serving: FastAPI + uvicorn + Debian's python3-xgboost.

    KILN_BENCH_MODEL=model.ubj /usr/bin/python3 bench/serving/fastapi_server.py --port P [--workers 2]
    KILN_BENCH_MODEL=model.ubj /usr/bin/python3 -m uvicorn fastapi_server:app \
        --app-dir bench/serving --host 127.0.0.1 --port P --workers 2 --no-access-log   # stock

Serves the same model.ubj that Kiln registered (copied out of the run's artifacts by
make_bodies.py), the way a careful Python service would:
  POST /predict {"features": [10 numbers]}          → {"prediction": p}
  POST /predict {"rows": [[10 numbers], …]}          → {"predictions": [p, …]}
  GET  /health                                       → {"ready": true, "uvloop": …, …}
The features arrive in the body, in the model's feature order: this peer has no feature store
(Kiln's /api/predict fetches 10 online features per row; its OIP endpoint is the like-for-like
comparison). The body is validated by pydantic (as FastAPI does); prediction is XGBoost's
fastest Python path, Booster.inplace_predict on a float32 numpy array (no DMatrix), with
nthread=1 per worker (2 workers on 2 cores; more threads only oversubscribe the cores). The
handler is `async def`: prediction takes tens of µs, so it runs on the event loop rather than
paying a thread-pool hop per request (FastAPI's path for plain `def`).

Why a launcher (`python3 fastapi_server.py`) besides the stock `uvicorn --workers 2`: uvicorn
0.17.6 binds the shared listening socket with proto 0, so asyncio never sets TCP_NODELAY on
accepted connections, and every keep-alive request after the first waits ~40 ms for the client's
delayed ACK (Nagle: headers and body go out in two writes). Upstream: Kludex/uvicorn#3149, fixed
by passing IPPROTO_TCP (#3155). The launcher does exactly that: it binds the socket with
IPPROTO_TCP and forks --workers processes that each run uvicorn on it (what --workers does,
minus the bug). The model is loaded in each worker after the fork (OpenMP and fork do not mix).
"""
import argparse
import importlib.util
import os
import signal
import socket
import sys
from typing import List, Optional

import numpy as np
import xgboost
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI()
booster = None
num_features = 0


@app.on_event("startup")
def load_model():
    global booster, num_features
    booster = xgboost.Booster(model_file=os.environ.get("KILN_BENCH_MODEL", "model.ubj"))
    booster.set_param({"nthread": 1})
    num_features = booster.num_features()


class PredictRequest(BaseModel):
    features: Optional[List[float]] = None
    rows: Optional[List[List[float]]] = None


def predict(matrix):
    if matrix.ndim != 2 or matrix.shape[1] != num_features:
        raise HTTPException(status_code=400, detail=f"expected rows of {num_features} features")
    return booster.inplace_predict(matrix, validate_features=False)


@app.post("/predict")
async def predict_endpoint(request: PredictRequest):
    if request.features is not None:
        return {"prediction": float(predict(np.asarray([request.features], dtype=np.float32))[0])}
    if request.rows is not None:
        return {"predictions": predict(np.asarray(request.rows, dtype=np.float32)).tolist()}
    raise HTTPException(status_code=400, detail="give 'features' (one row) or 'rows'")


@app.get("/health")
async def health():
    # uvicorn's --loop auto / --http auto use uvloop and httptools when installed, else asyncio and h11.
    return {"ready": True, "xgboost": xgboost.__version__, "features": num_features, "pid": os.getpid(),
            "uvloop": importlib.util.find_spec("uvloop") is not None,
            "httptools": importlib.util.find_spec("httptools") is not None}


def main():
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(2048)
    listener.set_inheritable(True)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            config = uvicorn.Config("fastapi_server:app",  # sys.path[0] is this folder
                                    log_level="warning", access_log=False, backlog=2048)
            uvicorn.Server(config).run(sockets=[listener])
            os._exit(0)
        children.append(pid)

    def stop(signum, frame):
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    for child in children:
        while True:
            try:
                _, code = os.waitpid(child, 0)
                status = status or os.waitstatus_to_exitcode(code)
                break
            except InterruptedError:
                continue
    sys.exit(status)


if __name__ == "__main__":
    main()
