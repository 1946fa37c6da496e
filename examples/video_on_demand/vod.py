"""Video on demand on a local AWS: S3 and DynamoDB on a moto server, four workflows on durable
(the parent starts ingest, process and publish as nested executions, ``.sync:2``).

The video is a raw YUV4MPEG2 (``.y4m``) file, the uncompressed format video tools exchange:
a text header (``YUV4MPEG2 W64 H36 F25:1 ...``) then frames of 4:2:0 planes. Small real work on
it needs no video library: ``make_video`` generates one, ``InspectVideo`` parses its header and
checksums it, ``RescaleVideo`` downscales every frame (nearest neighbour), ``ExtractThumbnail``
writes the middle frame's luma as a PGM image, ``WriteManifest`` lists the outputs and their
checksums.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
SOURCE, DESTINATION = "vod-source", "vod-destination"
CHILDREN = {
    "VodIngest": ("ingest", "EXPRESS"),
    "VodProcess": ("process", "STANDARD"),
    "VodPublish": ("publish", "STANDARD"),
}
RENDITIONS = [{"name": "full", "scale": 1}, {"name": "half", "scale": 2}, {"name": "quarter", "scale": 4}]


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint."""

    endpoint: str

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


def setup(endpoint: str) -> Aws:
    aws = Aws(endpoint)
    for bucket in (SOURCE, DESTINATION):
        aws.client("s3").create_bucket(Bucket=bucket)
    aws.client("dynamodb").create_table(
        TableName="vod-catalog",
        KeySchema=[{"AttributeName": "videoId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "videoId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return aws


# -- Y4M ----------------------------------------------------------------------------------------------
@dataclass
class Video:
    width: int
    height: int
    fps: tuple[int, int]
    frames: list[bytes]  # each: Y plane, then U and V at half width and height


def make_video(width: int = 64, height: int = 36, frames: int = 25, fps: int = 25) -> bytes:
    """A moving gradient, as a Y4M file."""
    out = [f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()]
    for n in range(frames):
        luma = bytes((x * 4 + y * 2 + n * 8) % 256 for y in range(height) for x in range(width))
        chroma = bytes([128]) * ((width // 2) * (height // 2))
        out += [b"FRAME\n", luma, chroma, chroma]
    return b"".join(out)


def parse(data: bytes) -> Video:
    header, _, rest = data.partition(b"\n")
    fields = header.decode().split()
    if fields[0] != "YUV4MPEG2":
        raise ValueError("not a YUV4MPEG2 file")
    params = {f[0]: f[1:] for f in fields[1:]}
    width, height = int(params["W"]), int(params["H"])
    num, den = (int(v) for v in params["F"].split(":"))
    size = width * height + 2 * (width // 2) * (height // 2)
    frames, at = [], 0
    while at < len(rest):
        line_end = rest.index(b"\n", at)
        frames.append(rest[line_end + 1 : line_end + 1 + size])
        at = line_end + 1 + size
    return Video(width, height, (num, den), frames)


def write(video: Video) -> bytes:
    num, den = video.fps
    out = [f"YUV4MPEG2 W{video.width} H{video.height} F{num}:{den} Ip A1:1 C420jpeg\n".encode()]
    for frame in video.frames:
        out += [b"FRAME\n", frame]
    return b"".join(out)


def _plane(data: bytes, width: int, to_width: int, to_height: int, scale: int) -> bytes:
    return bytes(data[y * scale * width + x * scale] for y in range(to_height) for x in range(to_width))


def rescale(video: Video, scale: int) -> Video:
    """Every frame downscaled ``scale`` times (nearest neighbour), 4:2:0 kept."""
    w, h = video.width, video.height
    cw, ch = w // 2, h // 2
    tw, th = w // scale, h // scale
    frames = []
    for f in video.frames:
        y, u, v = f[: w * h], f[w * h : w * h + cw * ch], f[w * h + cw * ch :]
        chroma = [_plane(p, cw, tw // 2, th // 2, scale) for p in (u, v)]
        frames.append(_plane(y, w, tw, th, scale) + chroma[0] + chroma[1])
    return Video(tw, th, video.fps, frames)


# -- the task code (Lambda handlers) ------------------------------------------------------------------
def handlers(aws: Aws) -> dict[str, Any]:
    def get(bucket: str, key: str) -> bytes:
        return bytes(aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())

    def put(key: str, body: bytes, content_type: str) -> dict[str, Any]:
        aws.client("s3").put_object(Bucket=DESTINATION, Key=key, Body=body, ContentType=content_type)
        return {
            "url": f"s3://{DESTINATION}/{key}",
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }

    def inspect_video(event: dict[str, Any], context: Any) -> dict[str, Any]:
        data = get(event["bucket"], event["key"])
        video = parse(data)
        digest = hashlib.sha256(data).hexdigest()
        num, den = video.fps
        return {
            "videoId": digest[:16],
            "width": video.width,
            "height": video.height,
            "fps": num / den,
            "frames": len(video.frames),
            "durationSeconds": round(len(video.frames) * den / num, 3),
            "size": len(data),
            "sha256": digest,
        }

    def rescale_video(event: dict[str, Any], context: Any) -> dict[str, Any]:
        rendition = event["rendition"]
        video = rescale(parse(get(event["bucket"], event["key"])), rendition["scale"])
        stored = put(f"{event['videoId']}/{rendition['name']}.y4m", write(video), "video/x-yuv4mpeg")
        return {"name": rendition["name"], "width": video.width, "height": video.height, **stored}

    def extract_thumbnail(event: dict[str, Any], context: Any) -> dict[str, Any]:
        video = parse(get(event["bucket"], event["key"]))
        middle = video.frames[len(video.frames) // 2][: video.width * video.height]
        image = f"P5\n{video.width} {video.height}\n255\n".encode() + middle
        return put(f"{event['videoId']}/thumbnail.pgm", image, "image/x-portable-graymap")

    def write_manifest(event: dict[str, Any], context: Any) -> dict[str, Any]:
        manifest = {
            "videoId": event["videoId"],
            "source": {
                k: event["source"][k] for k in ("width", "height", "fps", "durationSeconds", "sha256")
            },
            "renditions": event["outputs"]["renditions"],
            "thumbnail": event["outputs"]["thumbnail"],
        }
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        return put(f"{event['videoId']}/manifest.json", body, "application/json")

    return {
        "InspectVideo": inspect_video,
        "RescaleVideo": rescale_video,
        "ExtractThumbnail": extract_thumbnail,
        "WriteManifest": write_manifest,
    }


def open_engine(aws: Aws, db: str | None = None) -> Engine:
    """An engine on ``db`` (SQLite; None: in memory) with the Lambda handlers and the AWS plugin
    on ``aws``'s endpoint (on AWS: Lambda functions and ``AwsIntegration()``)."""
    engine = Engine(db, load_plugins=False)
    for name, handler in handlers(aws).items():
        engine.register_function(name, handler)
    engine.add_integration(AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION))
    return engine


async def deploy(engine: Engine) -> str:
    """The three child state machines and the parent; the parent's ARN."""
    for name, (file, kind) in CHILDREN.items():
        await engine.create_state_machine(name, (HERE / f"{file}.asl.json").read_text(), type=kind)
    return (
        await engine.create_state_machine("VideoOnDemand", (HERE / "definition.asl.json").read_text())
    ).arn


def upload(aws: Aws, key: str, body: bytes) -> None:
    aws.client("s3").put_object(Bucket=SOURCE, Key=key, Body=body)


async def publish_video(engine: Engine, parent_arn: str, key: str) -> Execution:
    """One run of the parent for ``key`` of the source bucket, to its end."""
    started = await engine.start_execution(
        parent_arn, {"bucket": SOURCE, "key": key, "renditions": RENDITIONS}
    )
    return await engine.wait_for_execution(started.execution_arn)


def catalog(aws: Aws, video_id: str) -> dict[str, str]:
    item = (
        aws.client("dynamodb")
        .get_item(TableName="vod-catalog", Key={"videoId": {"S": video_id}})
        .get("Item", {})
    )
    return {name: next(iter(value.values())) for name, value in item.items()}


def fetch(aws: Aws, url: str) -> bytes:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bytes(aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
