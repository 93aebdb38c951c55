"""`{% picture %}`: a processed image as <picture> with WebP and its JPEG/PNG fallback, sized by srcset."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from media.storage import Picture

register = template.Library()


@register.simple_tag
def picture(
    picture: Picture | None,
    variants: str,
    *,
    sizes: str = "",
    css_class: str = "",
    alt: str = "",
    eager: bool = False,
    priority: bool = False,
) -> str:
    """`variants` lists the variants to offer, smallest first ("thumb", or "small medium").

    Off-screen pictures load lazily unless `eager` (a picture at the top of the page). `priority`
    marks the page's main picture, its largest paint: loaded at once and ahead of the other pictures
    (fetchpriority), not only once the layout shows it is in view.
    """
    if picture is None:
        return ""
    names = variants.split()
    width, height = picture.sizes[names[0]]
    return format_html(
        '<picture><source type="image/webp" srcset="{}"{}>'
        '<img src="{}" srcset="{}"{} class="{}" alt="{}" width="{}" height="{}" '
        'loading="{}"{} decoding="async"></picture>',
        picture.srcset(names),
        format_html(' sizes="{}"', sizes) if sizes else "",
        picture.url(names[0], picture.fallback),
        picture.srcset(names, picture.fallback),
        format_html(' sizes="{}"', sizes) if sizes else "",
        css_class,
        alt,
        width,
        height,
        "eager" if eager or priority else "lazy",
        mark_safe(' fetchpriority="high"') if priority else "",
    )


@register.simple_tag(takes_context=True)
def picture_absolute_url(context, picture: Picture | None, variant: str) -> str:
    """The fallback (JPEG or PNG) of a variant as an absolute URL: for OpenGraph and feeds."""
    if picture is None:
        return ""
    url = picture.url(variant, picture.fallback)
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url
