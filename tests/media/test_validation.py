"""Which files are accepted as pictures, decided from their content before anything is stored."""

import io
import tracemalloc

import pytest

from media.validation import (
    ImageRejected,
    ImageTooLarge,
    UnsupportedImage,
    inspect,
)
from tests.media import images


def check(data: bytes):
    return inspect(io.BytesIO(data))


@pytest.mark.parametrize(
    ("data", "format", "size"),
    [
        (images.jpeg((800, 500)), "JPEG", (800, 500)),
        (images.png((640, 400)), "PNG", (640, 400)),
        (images.png((640, 400), alpha=True), "PNG", (640, 400)),
        (images.webp((640, 400)), "WEBP", (640, 400)),
        (images.animated_gif((200, 120)), "GIF", (200, 120)),
    ],
    ids=["jpeg", "png", "png-alpha", "webp", "animated-gif"],
)
def test_it_accepts_the_four_formats_and_reads_their_size(data, format, size):
    info = check(data)

    assert (info.format, (info.width, info.height)) == (format, size)


def test_the_name_and_the_clients_content_type_play_no_part():
    upload = images.upload(images.png(), name="holiday.gif", content_type="text/html")

    assert inspect(upload, upload.size).format == "PNG"


@pytest.mark.parametrize(
    "data",
    [images.svg(), images.html(), b"just some text\n", images.zip_archive(), images.bmp()],
    ids=["svg", "html", "text", "zip", "bmp"],
)
def test_anything_but_the_four_formats_is_unsupported(data):
    with pytest.raises(UnsupportedImage) as refused:
        check(data)

    assert refused.value.status_code == 415
    assert "JPEG, PNG, WebP or GIF" in refused.value.message


def test_a_tiff_is_never_even_opened_by_pillows_tiff_decoder():
    with pytest.raises(UnsupportedImage):
        check(images.tiff())


def test_an_empty_file_is_refused():
    with pytest.raises(ImageRejected, match="empty") as refused:
        check(b"")

    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        images.truncated(images.jpeg((1200, 900))),
        images.truncated(images.png((640, 400))),
        images.truncated(images.webp((640, 400))),
        images.truncated(images.animated_gif(), 0.4),
    ],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_a_truncated_file_is_refused_as_damaged(data):
    with pytest.raises(ImageRejected, match="damaged or incomplete") as refused:
        check(data)

    assert refused.value.status_code == 400


def test_a_file_over_the_limit_is_refused_as_too_large_from_its_size_alone(settings):
    settings.MEDIA_MAX_UPLOAD_MB = 1
    data = images.png()

    with pytest.raises(ImageTooLarge, match="larger than 1 MB") as refused:
        inspect(io.BytesIO(data), size=1024 * 1024 + 1)

    assert refused.value.status_code == 413


@pytest.mark.parametrize(
    "data",
    [images.png_claiming(100_000, 100_000), images.jpeg_claiming(65_000, 65_000)],
    ids=["png", "jpeg"],
)
def test_a_pixel_flood_is_refused_from_its_header_without_decoding(data):
    tracemalloc.start()
    try:
        with pytest.raises(ImageRejected, match="too many pixels") as refused:
            check(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refused.value.status_code == 400
    assert len(data) < 10_000
    assert peak < 5_000_000  # a decode of 10 gigapixels would need tens of gigabytes


def test_the_pixel_limit_is_a_setting(settings):
    settings.MEDIA_MAX_PIXELS = 100 * 100

    with pytest.raises(ImageRejected, match=r"at most 0\.01 megapixels"):
        check(images.png((101, 100)))
    assert check(images.png((100, 100))).width == 100


def test_the_file_is_left_rewound_for_whoever_stores_it():
    stream = io.BytesIO(images.jpeg())

    inspect(stream)

    assert stream.tell() == 0


def progressive_jpeg(size=(800, 500)) -> bytes:
    return images.encode(images.picture(size), "JPEG", progressive=True, quality=85)


def test_a_progressive_jpeg_is_accepted():
    assert check(progressive_jpeg()).format == "JPEG"


def test_a_truncated_progressive_jpeg_is_refused_without_decoding_it():
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        check(images.truncated(progressive_jpeg(), 0.6))


def test_a_jpeg_of_thousands_of_tiny_scans_is_refused_before_decoding():
    data = progressive_jpeg((640, 640))
    last_scan = data.rindex(b"\xff\xda")
    scan = data[last_scan:-2]  # the last scan, up to the end-of-image marker
    bomb = data[:-2] + scan * 500 + b"\xff\xd9"

    with pytest.raises(ImageRejected, match="unusual way") as refused:
        check(bomb)

    assert refused.value.status_code == 400


def test_a_camera_jpeg_with_multi_picture_data_counts_as_a_jpeg():
    first, second = images.picture((800, 600)), images.picture((800, 600), colour=(0, 0, 200))
    mpo = images.encode(first, "MPO", save_all=True, append_images=[second])

    assert check(mpo).format == "JPEG"


def test_a_motion_photo_with_video_appended_after_the_picture_is_accepted():
    video_like = bytes(range(256)) * 4000 + b"\xff\xda" * 500  # scan-like bytes after the end
    data = images.jpeg() + video_like

    assert check(data).format == "JPEG"


def test_a_truncated_progressive_jpeg_with_an_exif_thumbnail_is_refused():
    picture = images.picture((1600, 1000))
    exif = picture.getexif()
    thumbnail = images.encode(images.picture((160, 100)), "JPEG")  # its own end-of-image marker
    data = images.encode(picture, "JPEG", progressive=True, exif=exif.tobytes() + thumbnail)

    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        check(images.truncated(data, 0.5))


def test_a_tiff_is_never_handed_to_pillows_tiff_decoder(monkeypatch):
    from PIL import TiffImagePlugin

    opened = []
    original = TiffImagePlugin.TiffImageFile._open

    def spy(self):
        opened.append(self)
        return original(self)

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_open", spy)

    with pytest.raises(UnsupportedImage):
        check(images.tiff())
    assert opened == []


def test_the_40_megapixel_limit_refuses_a_picture_pillow_alone_would_open():
    with pytest.raises(ImageRejected, match="at most 40 megapixels"):
        check(images.png_claiming(8000, 6000))  # 48 MP: under Pillow's own bomb limit


def test_pillows_own_bomb_guard_stays_on_when_the_setting_is_raised(settings):
    settings.MEDIA_MAX_PIXELS = 10**12

    with pytest.raises(ImageRejected, match="too many pixels"):
        check(images.png_claiming(100_000, 100_000))
