"""The insights answer: what selectors.Insights holds, as the API's JSON."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from workbooks.services import OTHER_REFERRERS, REFERRER_DOMAINS_PER_DAY

from ..selectors import PERIODS, Insights


class ActivityDaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    views = serializers.IntegerField()
    favorites = serializers.IntegerField()
    comments = serializers.IntegerField()
    collection_adds = serializers.IntegerField()


class ActivityTotalsSerializer(serializers.Serializer[Any]):
    views = serializers.IntegerField()
    favorites = serializers.IntegerField()
    comments = serializers.IntegerField()
    collection_adds = serializers.IntegerField()


class EmbedDaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    loads = serializers.IntegerField()
    # A field, though Serializer has an `errors` property: the metaclass takes fields off the class.
    errors = serializers.IntegerField()  # type: ignore[assignment]
    timeouts = serializers.IntegerField()
    failed_share = serializers.FloatField(
        allow_null=True, help_text="Errors and timeouts over all outcomes; null with none."
    )


class EmbedTotalsSerializer(serializers.Serializer[Any]):
    loads = serializers.IntegerField()
    # A field, though Serializer has an `errors` property: the metaclass takes fields off the class.
    errors = serializers.IntegerField()  # type: ignore[assignment]
    timeouts = serializers.IntegerField()
    failed_share = serializers.FloatField(allow_null=True)


class EmbedHealthSerializer(serializers.Serializer[Any]):
    totals = EmbedTotalsSerializer(help_text="Over the whole period.")
    series = EmbedDaySerializer(many=True, help_text="Oldest day first.")


class ReferrerSerializer(serializers.Serializer[Any]):
    domain = serializers.CharField()
    views = serializers.IntegerField()


class InsightsSerializer(serializers.Serializer[Any]):
    days = serializers.ChoiceField(choices=PERIODS)
    start = serializers.DateField(help_text="The first day (UTC) of the period.")
    end = serializers.DateField(help_text="The last day (UTC): today.")
    series = ActivityDaySerializer(many=True, help_text="One entry per day, oldest first.")
    totals = ActivityTotalsSerializer()
    referrers = ReferrerSerializer(
        many=True,
        help_text=(
            "The top referring domains of counted views, most views first. A workbook keeps "
            f"{REFERRER_DOMAINS_PER_DAY} domains a day; views from any more count as "
            f'"{OTHER_REFERRERS}".'
        ),
    )
    embed_health = EmbedHealthSerializer()

    def to_representation(self, instance: Insights) -> dict[str, Any]:
        return {
            "days": instance.days,
            "start": instance.start.isoformat(),
            "end": instance.end.isoformat(),
            "series": ActivityDaySerializer(instance.series, many=True).data,
            "totals": ActivityTotalsSerializer(instance.totals).data,
            "referrers": [{"domain": d, "views": v} for d, v in instance.referrers],
            "embed_health": {
                "totals": EmbedTotalsSerializer(instance.totals).data,
                "series": EmbedDaySerializer(instance.series, many=True).data,
            },
        }


class WorkbookTotalsSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="workbook.pk")
    title = serializers.CharField(source="workbook.title")
    url = serializers.CharField(source="workbook.get_absolute_url")
    totals = ActivityTotalsSerializer()
    embed_health = EmbedTotalsSerializer(source="totals")


class AuthorInsightsSerializer(InsightsSerializer):
    workbooks = WorkbookTotalsSerializer(many=True, help_text="Each of your workbooks' totals.")

    def to_representation(self, instance: Insights) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["workbooks"] = WorkbookTotalsSerializer(instance.workbooks, many=True).data
        return data
