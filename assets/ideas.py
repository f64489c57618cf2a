"""The ideas pipeline in the UI: how many ideas sit in each stage, every idea with its stage,
and each idea's history of moves (with the reason and evidence of each)."""

from __future__ import annotations

from dagster import AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from assets.resources import KeelResource

IDEAS_GROUP = "ideas"
PIPELINE = AssetKey([IDEAS_GROUP, "pipeline"])


def idea_assets() -> list[AssetsDefinition]:
    """The pipeline asset."""

    @asset(
        key=PIPELINE,
        group_name=IDEAS_GROUP,
        kinds={"polars", "deltalake"},
        description="Ideas per stage (idea → research → paper → live → retired) and every "
        "idea's history of moves, from ideas/ideas and ideas/transitions.",
    )
    def pipeline(keel: KeelResource) -> MaterializeResult[None]:
        from assets.pipeline_views import md_table
        from lake.ideas import IdeaBook
        from trading.ideas.stages import stage_counts

        book = IdeaBook(keel.lake())
        ideas = book.pipeline()
        history = book.transitions().sort("idea", "seq")
        counts = stage_counts(ideas)
        shown = ideas.select(
            "name", "stage", "since", "strategy", "capital", "override", "tags", "hypothesis"
        )
        moves = history.select(
            "idea", "seq", "at", "from_stage", "to_stage", "reason", "capital", "evidence"
        )
        return MaterializeResult(
            metadata={
                "ideas": ideas.height,
                **{f"in_{r['stage']}": int(r["ideas"]) for r in counts.iter_rows(named=True)},
                "per_stage": MetadataValue.md(md_table(counts)),
                "pipeline": MetadataValue.md(md_table(shown, limit=300)),
                "history": MetadataValue.md(md_table(moves, limit=500)),
            }
        )

    return [pipeline]
