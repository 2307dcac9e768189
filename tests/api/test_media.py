"""Media uploads: sniffing, re-encoding, caps, thumbnails, the stored files and who may see them."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin
from starlette.datastructures import Headers, UploadFile

from fediverse_cop.models import MediaAttachment, Status
from fediverse_cop.services import media as media_service
from fediverse_cop.services import oauth
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid
from fediverse_cop.settings import Settings, load_settings
from tests.api.conftest import BASE, Api, User

MEDIA_LIMIT = 2 * 1024 * 1024
GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def settings(cop_env: dict[str, str]) -> Settings:
    """A small media limit, so that an oversized upload is cheap to send."""
    return dataclasses.replace(load_settings(environ=cop_env), max_media_body=MEDIA_LIMIT)


def image_bytes(fmt: str, size: tuple[int, int] = (800, 600), **save: Any) -> bytes:
    image = Image.new("RGB", size, (30, 120, 200))
    image.paste((250, 200, 20), (0, 0, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def animated_gif(frames: int = 4) -> bytes:
    images = [Image.new("RGB", (120, 80), (i * 60, 40, 200 - i * 40)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[ORIENTATION] = 6  # rotate 90° clockwise to display
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    return image_bytes("JPEG", (400, 300), exif=exif.tobytes())


async def upload(
    api: Api,
    user: User | None,
    data: bytes,
    *,
    filename: str = "upload.bin",
    content_type: str = "application/octet-stream",
    path: str = "/api/v1/media",
    token: str | None = None,
    **fields: str,
) -> httpx.Response:
    return await api.post(
        path,
        as_=user,
        token=token,
        files={"file": (filename, data, content_type)},
        data=fields,
    )


def stored_names(api: Api) -> list[str]:
    root = api.ctx.settings.media_root
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def local_path(api: Api, url: str) -> str:
    assert url.startswith(f"{BASE}/media/")
    return url.removeprefix(BASE)


# -- uploads -------------------------------------------------------------------------------


async def test_a_png_is_stored_re_encoded_with_thumbnail_meta_and_blurhash(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, image_bytes("PNG", (1600, 900)), filename="cat.png")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "image"
    assert body["meta"]["original"] == {
        "width": 1600,
        "height": 900,
        "size": "1600x900",
        "aspect": pytest.approx(1600 / 900, rel=1e-4),
    }
    assert body["meta"]["small"]["width"] == 640
    assert body["meta"]["small"]["height"] == 360
    assert isinstance(body["blurhash"], str)
    assert len(body["blurhash"]) > 6
    assert body["url"] != body["preview_url"]
    assert body["url"].endswith(".png")
    assert "cat" not in body["url"]

    original = await api.get(local_path(api, body["url"]))
    assert original.status_code == 200
    assert original.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(original.content)).size == (1600, 900)
    preview = await api.get(local_path(api, body["preview_url"]))
    assert preview.status_code == 200
    assert Image.open(io.BytesIO(preview.content)).size == (640, 360)


@pytest.mark.parametrize(
    ("fmt", "ext", "content_type"),
    [("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp"), ("GIF", "gif", "image/gif")],
)
async def test_jpeg_webp_and_gif_are_accepted_by_v2_with_200(
    api: Api, fmt: str, ext: str, content_type: str
) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, image_bytes(fmt), path="/api/v2/media")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "image"
    assert body["url"].endswith(f".{ext}")
    assert body["meta"]["original"]["width"] == 800
    served = await api.get(local_path(api, body["url"]))
    assert served.headers["content-type"] == content_type
    assert Image.open(io.BytesIO(served.content)).format == fmt


async def test_an_animated_gif_keeps_its_frames(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, animated_gif(4), filename="party.gif")
    assert response.status_code == 200
    served = await api.get(local_path(api, response.json()["url"]))
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "GIF"
    assert getattr(image, "n_frames", 1) == 4


async def test_exif_and_gps_data_are_stripped_and_orientation_applied(api: Api) -> None:
    source = jpeg_with_gps()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(GPS_IFD)  # the test data has GPS
    alice = await api.user("alice")
    response = await upload(api, alice, source, filename="holiday.jpg", content_type="image/jpeg")
    assert response.status_code == 200
    body = response.json()
    # Rotated as the EXIF orientation said, before the metadata was dropped.
    assert (body["meta"]["original"]["width"], body["meta"]["original"]["height"]) == (300, 400)
    for url in (body["url"], body["preview_url"]):
        served = await api.get(local_path(api, url))
        image = Image.open(io.BytesIO(served.content))
        assert len(image.getexif()) == 0
        assert "exif" not in image.info
        assert b"PhoneMaker" not in served.content


def _with_metadata(fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image = Image.new("RGB", (64, 48), (10, 200, 90))
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "PhoneMaker secret")
        image.save(out, "PNG", exif=exif.tobytes(), pnginfo=text)
    elif fmt == "WEBP":
        image.save(out, "WEBP", exif=exif.tobytes(), xmp=b"<x:xmpmeta>PhoneMaker</x:xmpmeta>")
    elif fmt == "JPEG":
        image.save(out, "JPEG", exif=exif.tobytes(), comment=b"PhoneMaker")
    else:
        frames = [image.convert("P"), Image.new("P", (64, 48), 3)]
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], comment=b"PhoneMaker")
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG", "GIF"])
async def test_no_metadata_survives_in_any_format(api: Api, fmt: str) -> None:
    source = _with_metadata(fmt)
    assert b"PhoneMaker" in source
    alice = await api.user("alice")
    response = await upload(api, alice, source)
    assert response.status_code == 200
    served = await api.get(local_path(api, response.json()["url"]))
    assert Image.open(io.BytesIO(served.content)).format == fmt
    assert b"PhoneMaker" not in served.content


async def test_description_and_focus_are_taken_at_upload(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(
        api, alice, image_bytes("PNG"), description="A yellow square on blue", focus="-0.5,0.25"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["description"] == "A yellow square on blue"
    assert body["meta"]["focus"] == {"x": -0.5, "y": 0.25}


async def test_video_and_audio_are_accepted_by_their_magic_bytes_without_transcoding(
    api: Api,
) -> None:
    alice = await api.user("alice")
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 64
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 64
    for data, kind, content_type in (
        (mp4, "video", "video/mp4"),
        (mp3, "audio", "audio/mpeg"),
        (webm, "video", "video/webm"),
    ):
        response = await upload(api, alice, data, filename="clip.png", content_type="image/png")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["type"] == kind
        assert body["preview_url"] is None
        served = await api.get(local_path(api, body["url"]))
        assert served.headers["content-type"] == content_type
        assert served.content == data


async def test_a_video_can_bring_its_own_cover_image(api: Api) -> None:
    alice = await api.user("alice")
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 32
    response = await api.post(
        "/api/v2/media",
        as_=alice,
        files={
            "file": ("v.mp4", mp4, "video/mp4"),
            "thumbnail": ("cover.png", image_bytes("PNG", (320, 180)), "image/png"),
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "video"
    assert body["preview_url"].endswith(".png")
    assert body["blurhash"]


# -- refusals ------------------------------------------------------------------------------


async def test_a_text_file_named_png_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(
        api, alice, b"just some notes\n" * 20, filename="notes.png", content_type="image/png"
    )
    assert response.status_code == 422
    assert "error" in response.json()
    assert stored_names(api) == []


async def test_html_declared_as_png_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    response = await upload(api, alice, html, filename="x.png", content_type="image/png")
    assert response.status_code == 422
    assert stored_names(api) == []


async def test_a_truncated_image_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    data = image_bytes("PNG", (400, 400))
    response = await upload(api, alice, data[: len(data) // 2])
    assert response.status_code == 422


def png_of_zeros(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit PNG written by hand (``rows`` of data only: Pillow refuses on the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = zlib.compress(bytes((1 + (width + 7) // 8) * (height if rows is None else rows)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


async def test_a_decompression_bomb_is_refused(api: Api) -> None:
    bomb = png_of_zeros(30_000, 30_000, rows=64)  # 900 megapixels in a few hundred bytes
    assert len(bomb) < 1_000
    alice = await api.user("alice")
    response = await upload(api, alice, bomb, filename="small.png")
    assert response.status_code == 422
    assert response.json()["error"] == media_service.TOO_MANY_PIXELS
    assert stored_names(api) == []


async def test_an_image_over_the_pixel_cap_but_under_pillows_own_is_refused(api: Api) -> None:
    over = png_of_zeros(8_000, 6_000)  # 48 megapixels, over our 40
    alice = await api.user("alice")
    response = await upload(api, alice, over)
    assert response.status_code == 422
    assert response.json()["error"] == media_service.TOO_MANY_PIXELS


async def test_an_oversized_body_is_refused_with_413(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, b"\x00" * (MEDIA_LIMIT + 1))
    assert response.status_code == 413
    assert stored_names(api) == []


async def test_a_missing_file_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    response = await api.post("/api/v1/media", as_=alice, data={"description": "nothing"})
    assert response.status_code == 422


@pytest.mark.parametrize("focus", ["2,0", "0", "a,b", "0.5,-1.5", "1,2,3"])
async def test_a_bad_focus_is_refused(api: Api, focus: str) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, image_bytes("PNG"), focus=focus)
    assert response.status_code == 422


async def test_a_description_over_1500_characters_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, image_bytes("PNG"), description="x" * 1501)
    assert response.status_code == 422
    assert "too long" in response.json()["error"]


# -- authorization -------------------------------------------------------------------------


async def test_uploading_without_a_token_is_401(api: Api) -> None:
    response = await upload(api, None, image_bytes("PNG"))
    assert response.status_code == 401


async def test_uploading_with_a_read_only_token_is_403(api: Api) -> None:
    reader = await api.user("reader", scopes="read")
    response = await upload(api, reader, image_bytes("PNG"))
    assert response.status_code == 403
    assert stored_names(api) == []


async def test_the_granular_write_media_scope_is_enough(api: Api) -> None:
    uploader = await api.user("uploader", scopes="write:media")
    response = await upload(api, uploader, image_bytes("PNG"))
    assert response.status_code == 200


async def test_a_revoked_token_is_401(api: Api) -> None:
    alice = await api.user("alice")
    await oauth.revoke_account_tokens(alice.account)
    response = await upload(api, alice, image_bytes("PNG"))
    assert response.status_code == 401


async def test_another_users_media_answers_404(api: Api) -> None:
    alice = await api.user("alice")
    mallory = await api.user("mallory")
    media_id = (await upload(api, alice, image_bytes("PNG"))).json()["id"]
    missing = await api.get("/api/v1/media/1", as_=mallory)
    theirs = await api.get(f"/api/v1/media/{media_id}", as_=mallory)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"error": "Record not found"}
    put = await api.put(f"/api/v1/media/{media_id}", as_=mallory, json={"description": "mine"})
    assert put.status_code == 404
    deleted = await api.delete(f"/api/v1/media/{media_id}", as_=mallory)
    assert deleted.status_code == 404
    media = await MediaAttachment.get(id=int(media_id))
    assert media.description == ""


async def test_reading_and_updating_need_a_token_with_write_media(api: Api) -> None:
    alice = await api.user("alice")
    media_id = (await upload(api, alice, image_bytes("PNG"))).json()["id"]
    reader = await api.token(alice.account, "read")
    assert (await api.get(f"/api/v1/media/{media_id}")).status_code == 401
    assert (await api.get(f"/api/v1/media/{media_id}", token=reader)).status_code == 403
    put = await api.put(f"/api/v1/media/{media_id}", token=reader, json={"description": "x"})
    assert put.status_code == 403


# -- get, update, delete -------------------------------------------------------------------


async def test_the_owner_reads_and_updates_description_and_focus(api: Api) -> None:
    alice = await api.user("alice")
    media_id = (await upload(api, alice, image_bytes("PNG"))).json()["id"]

    shown = await api.get(f"/api/v1/media/{media_id}", as_=alice)
    assert shown.status_code == 200
    assert shown.json()["id"] == media_id

    as_json = await api.put(
        f"/api/v1/media/{media_id}",
        as_=alice,
        json={"description": "A chart of attendance", "focus": "0.3,-0.7"},
    )
    assert as_json.status_code == 200
    assert as_json.json()["description"] == "A chart of attendance"
    assert as_json.json()["meta"]["focus"] == {"x": 0.3, "y": -0.7}

    as_form = await api.put(
        f"/api/v1/media/{media_id}", as_=alice, data={"description": "Attendance, 2024"}
    )
    assert as_form.status_code == 200
    assert as_form.json()["description"] == "Attendance, 2024"
    assert as_form.json()["meta"]["focus"] == {"x": 0.3, "y": -0.7}

    bad = await api.put(f"/api/v1/media/{media_id}", as_=alice, json={"focus": "9,9"})
    assert bad.status_code == 422
    too_long = await api.put(
        f"/api/v1/media/{media_id}", as_=alice, json={"description": "y" * 1501}
    )
    assert too_long.status_code == 422
    stored = await MediaAttachment.get(id=int(media_id))
    assert (stored.description, stored.focus_x, stored.focus_y) == ("Attendance, 2024", 0.3, -0.7)


async def test_attached_media_is_no_longer_read_changed_or_deleted_here(api: Api) -> None:
    alice = await api.user("alice")
    media_id = (await upload(api, alice, image_bytes("PNG"))).json()["id"]
    status = await Status.create(
        uri=f"{BASE}/users/alice/statuses/1",
        account=alice.account,
        local=True,
        content="<p>with a picture</p>",
        text="with a picture",
        published_at=utcnow(),
    )
    await MediaAttachment.filter(id=int(media_id)).update(status_id=status.id)

    assert (await api.get(f"/api/v1/media/{media_id}", as_=alice)).status_code == 404
    put = await api.put(f"/api/v1/media/{media_id}", as_=alice, json={"description": "late"})
    assert put.status_code == 404
    deleted = await api.delete(f"/api/v1/media/{media_id}", as_=alice)
    assert deleted.status_code == 422
    assert await MediaAttachment.exists(id=int(media_id))


async def test_deleting_unattached_media_removes_its_files(api: Api) -> None:
    alice = await api.user("alice")
    body = (await upload(api, alice, image_bytes("PNG"))).json()
    assert len(stored_names(api)) == 2
    response = await api.delete(f"/api/v1/media/{body['id']}", as_=alice)
    assert response.status_code == 200
    assert response.json() == {}
    assert stored_names(api) == []
    assert (await api.get(local_path(api, body["url"]))).status_code == 404
    assert (await api.get(f"/api/v1/media/{body['id']}", as_=alice)).status_code == 404


# -- serving stored files ------------------------------------------------------------------


async def test_stored_files_are_served_with_nosniff_csp_and_caching(api: Api) -> None:
    alice = await api.user("alice")
    body = (await upload(api, alice, image_bytes("JPEG"), content_type="text/html")).json()
    served = await api.get(local_path(api, body["url"]))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    assert "max-age=" in served.headers["cache-control"]
    assert "etag" in served.headers
    head = await api.client.head(local_path(api, body["url"]))
    assert head.status_code == 200
    assert head.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize(
    "path",
    [
        "/media/..%2Fsecret.txt",
        "/media/%2e%2e%2fsecret.txt",
        "/media/..%5Csecret.txt",
        "/media/secret.txt",
        "/media/.upload-abc",
        "/media/0123456789abcdef0123456789abcdef.html",
        "/media/0123456789abcdef0123456789abcdef.png",
        "/media/0123456789ABCDEF0123456789ABCDEF.png",
    ],
)
async def test_names_outside_the_pattern_or_missing_answer_404(api: Api, path: str) -> None:
    root = api.ctx.settings.media_root
    root.mkdir(parents=True, exist_ok=True)
    (root.parent / "secret.txt").write_text("not for you")
    (root / "secret.txt").write_text("not for you either")
    response = await api.client.get(path)
    assert response.status_code == 404
    assert b"not for you" not in response.content


async def test_a_raw_dot_dot_path_cannot_leave_the_media_directory(api: Api) -> None:
    root = api.ctx.settings.media_root
    root.mkdir(parents=True, exist_ok=True)
    (root.parent / "secret.txt").write_text("not for you")
    request = api.client.build_request("GET", "/media/x")
    request.url = request.url.copy_with(raw_path=b"/media/../secret.txt")
    response = await api.client.send(request)
    assert response.status_code == 404
    assert b"not for you" not in response.content


# -- for other services --------------------------------------------------------------------


async def test_as_document_describes_the_attachment_for_federation(api: Api) -> None:
    alice = await api.user("alice")
    body = (
        await upload(api, alice, image_bytes("PNG", (300, 200)), description="Alt", focus="0.5,0")
    ).json()
    media = await MediaAttachment.get(id=int(body["id"]))
    document = media_service.as_document(api.ctx, media)
    assert document == {
        "type": "Image",
        "mediaType": "image/png",
        "url": body["url"],
        "name": "Alt",
        "blurhash": body["blurhash"],
        "width": 300,
        "height": 200,
        "focalPoint": [0.5, 0.0],
    }


def _upload_file(data: bytes, name: str = "me.png", content_type: str = "image/png") -> UploadFile:
    return UploadFile(
        io.BytesIO(data), filename=name, headers=Headers({"content-type": content_type})
    )


async def test_profile_images_are_re_encoded_and_sized(api: Api) -> None:
    alice = await api.user("alice")
    avatar_url = await media_service.store_profile_image(
        api.ctx, alice.account, _upload_file(jpeg_with_gps(), "me.jpg"), "avatar"
    )
    header_url = await media_service.store_profile_image(
        api.ctx, alice.account, _upload_file(image_bytes("PNG", (3000, 1500))), "header"
    )
    avatar = await api.get(local_path(api, avatar_url))
    assert avatar.headers["content-type"] == "image/jpeg"
    avatar_image = Image.open(io.BytesIO(avatar.content))
    assert avatar_image.size == (300, 300)
    assert len(avatar_image.getexif()) == 0
    header = Image.open(io.BytesIO((await api.get(local_path(api, header_url))).content))
    assert header.size == (1000, 500)


async def test_a_profile_image_that_is_not_an_image_is_invalid(api: Api) -> None:
    alice = await api.user("alice")
    with pytest.raises(Invalid):
        await media_service.store_profile_image(
            api.ctx, alice.account, _upload_file(b"<svg onload=alert(1)/>"), "avatar"
        )
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 32
    with pytest.raises(Invalid):
        await media_service.store_profile_image(api.ctx, alice.account, _upload_file(mp4), "header")
    assert stored_names(api) == []


def test_the_name_pattern_only_admits_server_chosen_names(tmp_path: Path) -> None:
    for _ in range(20):
        assert media_service.NAME_PATTERN.match(media_service.new_name("png"))
    for name in ("../x.png", "a.png", "0123456789abcdef0123456789abcdef.png\n", ".png"):
        assert not media_service.NAME_PATTERN.match(name)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_a_pdf_is_refused_by_the_client_api(api: Api) -> None:
    alice = await api.user("alice")
    response = await upload(api, alice, PDF, filename="notes.pdf", content_type="application/pdf")
    assert response.status_code == 422
    assert not await MediaAttachment.exists()


async def test_a_library_pdf_is_kept_as_uploaded_and_served_for_download(api: Api) -> None:
    alice = await api.user("alice")
    stored = await media_service.upload(
        api.ctx,
        alice.account,
        _upload_file(PDF, "notes.pdf", "application/pdf"),
        description="Lab notes",
        documents=True,
    )
    assert (stored.type.value, stored.content_type, stored.size) == (
        "unknown",
        "application/pdf",
        len(PDF),
    )
    assert stored.file_name is not None
    assert stored.file_name.endswith(".pdf")
    served = await api.client.get(f"/media/{stored.file_name}")
    assert served.status_code == 200
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == "attachment"
    assert "sandbox" in served.headers["content-security-policy"]
    # A file that only claims to be a PDF is still refused.
    with pytest.raises(Invalid):
        await media_service.upload(
            api.ctx,
            alice.account,
            _upload_file(b"<html><script>alert(1)</script>", "x.pdf", "application/pdf"),
            documents=True,
        )
