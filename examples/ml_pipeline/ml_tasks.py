"""A daily ML pipeline's task functions (Lambda-style handlers ``fn(event, context)``):
scikit-learn trains and predicts for real, on the wine data set it ships (178 wines of three
cultivars, 13 chemical measurements each; ``sklearn.datasets.load_wine``, no download).

``land_daily_extract`` plays the source system: it writes the day's labelled extract and the
day's batch of wines to classify into the landing area. Every function works in a *store*: a
local directory standing in for an S3 bucket (``event["store"]``); keys are paths under it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "CheckData",
    "DataCheckFailed",
    "DeployModel",
    "NotifyFailure",
    "Predict",
    "RegistryUnavailable",
    "TrainModel",
    "TransformData",
    "land_daily_extract",
]

_WINE = load_wine()
FEATURES: list[str] = [name.replace("/", "_") for name in _WINE.feature_names]
CLASSES: list[str] = [str(name) for name in _WINE.target_names]
SCHEMA = [*FEATURES, "cultivar"]
REQUESTS = 28  # wines held back from each day's extract, to classify once the model is deployed


class DataCheckFailed(Exception):
    """The day's extract is not fit to train on (the cause lists why)."""


class RegistryUnavailable(Exception):
    """The model registry did not take the deployment; a later attempt may succeed."""


# -- the source system --------------------------------------------------------------------------


def land_daily_extract(store: Path, run_date: str, *, missing_values: int = 0) -> dict[str, Any]:
    """Write ``landing/<run_date>/wines.csv`` (the labelled extract: all wines but 28, in an order
    that changes by day) and ``landing/<run_date>/requests.csv`` (those 28, without label).
    ``missing_values`` blanks that many measurements, as a broken export would. Returns the
    keys and the requests' true cultivars (which the pipeline never sees)."""
    seed = int(hashlib.sha256(run_date.encode()).hexdigest()[:8], 16)
    order = np.random.default_rng(seed).permutation(len(_WINE.target))
    labelled, requests = order[REQUESTS:], order[:REQUESTS]
    folder = store / "landing" / run_date
    folder.mkdir(parents=True, exist_ok=True)
    rows = [[f"{v:g}" for v in _WINE.data[i]] + [CLASSES[_WINE.target[i]]] for i in labelled]
    for n in range(missing_values):
        rows[(n * 37) % len(rows)][n % len(FEATURES)] = ""
    _write_csv(folder / "wines.csv", SCHEMA, rows)
    _write_csv(
        folder / "requests.csv",
        ["id", *FEATURES],
        [[f"w{i:03d}"] + [f"{v:g}" for v in _WINE.data[i]] for i in requests],
    )
    return {
        "data": f"landing/{run_date}/wines.csv",
        "requests": f"landing/{run_date}/requests.csv",
        "truth": {f"w{i:03d}": CLASSES[_WINE.target[i]] for i in requests},
    }


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    with partial.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    partial.replace(path)  # atomic: a reader never sees half a file


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as file:
        header, *rows = list(csv.reader(file))
    return header, rows


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(value, indent=2) + "\n")
    partial.replace(path)


def _labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = _read_csv(path)[1]
    features = np.array([[float(v) for v in row[: len(FEATURES)]] for row in rows])
    return features, np.array([row[len(FEATURES)] for row in rows])


# -- the pipeline's tasks ----------------------------------------------------------------------


def CheckData(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Is the day's extract fit to train on? Its columns, row count, missing values, classes."""
    key = f"landing/{event['runDate']}/wines.csv"
    path = Path(event["store"]) / key
    if not path.exists():
        raise DataCheckFailed(f"{key}: no extract landed for {event['runDate']}")
    header, rows = _read_csv(path)
    problems = []
    if header != SCHEMA:
        problems.append(f"columns {header} are not {SCHEMA}")
    if len(rows) < event["minRows"]:
        problems.append(f"{len(rows)} rows, at least {event['minRows']} expected")
    missing = sum(1 for row in rows for value in row if not value.strip())
    if missing:
        problems.append(f"{missing} missing values")
    classes = Counter(row[-1] for row in rows if row)
    for name in CLASSES:
        if classes[name] < 0.1 * len(rows):
            problems.append(f"only {classes[name]} rows of class {name}")
    if problems:
        raise DataCheckFailed(f"{key}: " + "; ".join(problems))
    return {"key": key, "rows": len(rows), "classes": dict(sorted(classes.items()))}


def TransformData(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ETL: drop duplicate rows, split into train and test sets (stratified by class), write both."""
    store = Path(event["store"])
    header, rows = _read_csv(store / event["data"]["key"])
    unique = list(dict.fromkeys(tuple(row) for row in rows))
    train, test = train_test_split(
        unique, test_size=0.25, random_state=0, stratify=[row[-1] for row in unique]
    )
    prefix = f"features/{event['runDate']}"
    _write_csv(store / prefix / "train.csv", header, [list(row) for row in train])
    _write_csv(store / prefix / "test.csv", header, [list(row) for row in test])
    return {
        "train": f"{prefix}/train.csv",
        "test": f"{prefix}/test.csv",
        "trainRows": len(train),
        "testRows": len(test),
        "duplicatesDropped": len(rows) - len(unique),
    }


def TrainModel(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fit a scaler and a logistic regression on the train set; score it on the test set."""
    store = Path(event["store"])
    x_train, y_train = _labelled(store / event["features"]["train"])
    x_test, y_test = _labelled(store / event["features"]["test"])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    prefix = f"models/{event['runDate']}"
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predicted)), 4),
        "f1": round(float(f1_score(y_test, predicted, average="macro")), 4),
        "trainRows": len(y_train),
        "testRows": len(y_test),
        "algorithm": "StandardScaler + LogisticRegression",
    }
    (store / prefix).mkdir(parents=True, exist_ok=True)
    joblib.dump(model, store / prefix / "model.joblib")
    _write_json(store / prefix / "metrics.json", metrics)
    return {"key": f"{prefix}/model.joblib", "version": event["runDate"], **metrics}


def DeployModel(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Put the model in service: ``serving/model.joblib`` (replaced atomically) and its card."""
    store = Path(event["store"])
    model = event["model"]
    serving = store / "serving"
    serving.mkdir(parents=True, exist_ok=True)
    partial = serving / "model.joblib.partial"
    shutil.copyfile(store / model["key"], partial)
    partial.replace(serving / "model.joblib")
    card = {
        "version": model["version"],
        "source": model["key"],
        "accuracy": model["accuracy"],
        "f1": model["f1"],
    }
    _write_json(serving / "model.json", card)
    return {"key": "serving/model.joblib", "version": model["version"]}


def Predict(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Classify the day's requests with the model in service; write ``predictions/<date>.csv``."""
    store = Path(event["store"])
    model = joblib.load(store / event["deployment"]["key"])
    card = json.loads((store / "serving" / "model.json").read_text())
    rows = _read_csv(store / "landing" / event["runDate"] / "requests.csv")[1]
    features = np.array([[float(v) for v in row[1:]] for row in rows])
    predicted = model.predict(features)
    confidence = model.predict_proba(features).max(axis=1)
    key = f"predictions/{event['runDate']}.csv"
    _write_csv(
        store / key,
        ["id", "cultivar", "confidence", "model"],
        [
            [row[0], label, f"{p:.3f}", card["version"]]
            for row, label, p in zip(rows, predicted, confidence, strict=True)
        ],
    )
    return {
        "key": key,
        "rows": len(rows),
        "byClass": dict(sorted(Counter(str(p) for p in predicted).items())),
        "model": card["version"],
    }


def NotifyFailure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Tell the team: ``notifications/<date>/<execution name>.json`` stands in for an SNS topic
    (or an e-mail) with the error and its cause."""
    execution = event["execution"]
    key = f"notifications/{event['runDate']}/{execution.rsplit(':', 1)[-1]}.json"
    message = {
        "subject": f"ML pipeline failed for {event['runDate']}",
        "execution": execution,
        "error": event["failure"].get("Error"),
        "cause": event["failure"].get("Cause"),
    }
    _write_json(Path(event["store"]) / key, message)
    return {"key": key}
