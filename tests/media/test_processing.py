"""Turning an accepted picture into clean variants (media.processing.render)."""

import io

import pytest
from PIL import Image

from media import processing
from tests.media import images

FILES = {f"{v}.{ext}" for v in ("thumb", "small", "medium") for ext in ("webp", "jpg")}


def open_variant(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_jpeg_with_gps_and_appended_html_becomes_three_clean_variants():
    source = images.jpeg((1600, 1000), gps=True) + images.APPENDED_HTML
    assert b"<script>" in source
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)

    rendered = processing.render(source)

    assert set(rendered.files) == FILES
    for name, data in rendered.files.items():
        variant = open_variant(data)
        assert variant.format == ("WEBP" if name.endswith("webp") else "JPEG")
        assert not variant.getexif(), name
        assert not {"exif", "comment", "xmp", "icc_profile"} & set(variant.info), name
        for leftover in (b"<script", b"secret comment", b"GPS", b"Exif"):
            assert leftover not in data, (name, leftover)


def test_the_variants_have_the_documented_sizes():
    rendered = processing.render(images.jpeg((1600, 1000)))

    assert rendered.sizes == {"thumb": (150, 150), "small": (300, 188), "medium": (600, 375)}
    for name, data in rendered.files.items():
        assert open_variant(data).size == rendered.sizes[name.split(".")[0]]
    assert (rendered.width, rendered.height) == (1600, 1000)


def test_the_exif_orientation_is_applied_before_the_metadata_goes():
    # Orientation 6: the camera was turned; the stored landscape pixels show upright as portrait.
    rendered = processing.render(images.jpeg((1600, 1200), orientation=6))

    assert rendered.sizes["medium"] == (450, 600)
    assert (rendered.width, rendered.height) == (1200, 1600)
    assert not open_variant(rendered.files["medium.jpg"]).getexif()


def test_a_picture_with_transparency_keeps_it_with_a_png_fallback():
    rendered = processing.render(images.png((640, 400), alpha=True))

    assert rendered.fallback == "png"
    assert set(rendered.files) == {n.replace(".jpg", ".png") for n in FILES}
    assert open_variant(rendered.files["small.png"]).mode == "RGBA"
    assert open_variant(rendered.files["small.webp"]).mode == "RGBA"


def test_an_opaque_png_gets_the_smaller_jpeg_fallback():
    assert processing.render(images.png((640, 400))).fallback == "jpg"


def test_only_the_first_frame_of_an_animation_is_kept():
    rendered = processing.render(images.animated_gif())

    variant = open_variant(rendered.files["small.webp"])
    assert getattr(variant, "n_frames", 1) == 1
    red, _green, blue = variant.convert("RGB").getpixel((10, 10))
    assert red > 200
    assert blue < 60


def test_a_cmyk_jpeg_comes_out_in_rgb():
    rendered = processing.render(images.encode(images.picture().convert("CMYK"), "JPEG"))

    assert open_variant(rendered.files["medium.jpg"]).mode == "RGB"


def test_a_small_picture_is_never_enlarged_except_to_fill_the_square_thumb():
    rendered = processing.render(images.png((120, 90)))

    assert rendered.sizes == {"thumb": (150, 150), "small": (120, 90), "medium": (120, 90)}


def test_a_panorama_still_gets_a_full_square_thumb():
    rendered = processing.render(images.jpeg((4000, 400)))

    assert rendered.sizes["thumb"] == (150, 150)
    assert rendered.sizes["small"] == (300, 30)


def test_the_same_source_gives_the_same_names_and_bytes():
    source = images.jpeg()

    first, second = processing.render(source), processing.render(source)

    assert first.content_hash == second.content_hash
    assert first.files == second.files
    assert processing.render(images.png()).content_hash != first.content_hash


def test_a_picture_that_cannot_be_decoded_raises_pillows_error():
    with pytest.raises((OSError, ValueError, SyntaxError)):
        processing.render(images.truncated(images.webp((640, 400)), 0.9))


def test_a_camera_jpeg_with_multi_picture_data_is_processed_like_a_jpeg():
    first, second = images.picture((1600, 1200)), images.picture((1600, 1200), colour=(0, 0, 200))
    mpo = images.encode(first, "MPO", save_all=True, append_images=[second])

    rendered = processing.render(mpo)

    assert rendered.sizes["medium"] == (600, 450)
    assert rendered.fallback == "jpg"


def test_a_large_png_is_shrunk_early_and_keeps_its_orientation():
    picture = images.picture((4000, 3000))
    exif = picture.getexif()
    exif[images.ORIENTATION] = 6

    rendered = processing.render(images.encode(picture, "PNG", exif=exif))

    assert rendered.sizes["medium"] == (450, 600)
    assert (rendered.width, rendered.height) == (3000, 4000)


def srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_a_colour_profile_is_applied_and_not_carried_into_the_variants():
    picture = Image.new("RGB", (400, 300), (200, 30, 40))
    source = images.encode(picture, "JPEG", quality=95, icc_profile=srgb_profile())

    rendered = processing.render(source)

    variant = open_variant(rendered.files["small.jpg"])
    assert "icc_profile" not in variant.info
    red, green, blue = variant.getpixel((150, 100))
    assert abs(red - 200) < 6
    assert abs(green - 30) < 6
    assert abs(blue - 40) < 6


def test_a_damaged_colour_profile_does_not_stop_the_picture():
    source = images.encode(images.picture(), "PNG", icc_profile=b"not a profile at all")

    assert processing.render(source).sizes["medium"] == (600, 375)


def key_colour_png(size=(4000, 3000), *, icc_profile: bytes | None = None) -> bytes:
    """An RGB PNG whose green stripes are transparent by key colour (a tRNS chunk), not alpha."""
    from PIL import ImageDraw

    picture = Image.new("RGB", size, (200, 100, 0))
    draw = ImageDraw.Draw(picture)
    for x in range(0, size[0], 40):
        draw.rectangle([x, 0, x + 19, size[1]], fill=(0, 255, 1))
    options = {"transparency": (0, 255, 1)}
    if icc_profile:
        options["icc_profile"] = icc_profile
    return images.encode(picture, "PNG", **options)


@pytest.mark.parametrize("icc", [None, "srgb"], ids=["plain", "with-profile"])
def test_key_colour_transparency_stays_transparent_with_no_tinted_fringe(icc):
    rendered = processing.render(key_colour_png(icc_profile=srgb_profile() if icc else None))

    assert rendered.fallback == "png"
    medium = open_variant(rendered.files["medium.png"])
    assert medium.mode == "RGBA"
    for red, green, blue, alpha in medium.get_flattened_data():
        # Opaque pixels are the orange; a pixel tinted by the green key never shows.
        assert alpha < 250 or (green < 140 and red > 150), (red, green, blue, alpha)


def test_a_large_jpeg_is_decoded_at_a_reduced_size(monkeypatch):
    from PIL import JpegImagePlugin

    decoded = []
    original = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)

    processing.render(images.jpeg((4000, 3000)))

    assert decoded
    assert max(decoded) <= (1000, 750)  # 1/4 scale: the smallest that still covers 600 px
