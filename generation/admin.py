from django.contrib import admin

from generation.models import CandidateModel, GenerationChunk, GenerationJob


@admin.register(CandidateModel)
class CandidateModelAdmin(admin.ModelAdmin[CandidateModel]):
    list_display = ["id", "name", "backend", "path", "revision"]
    search_fields = ["name"]


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin[GenerationJob]):
    list_display = ["id", "campaign", "model", "status", "done", "total", "device", "attempts"]
    list_filter = ["status"]
    readonly_fields = ["params", "params_hash", "error"]


@admin.register(GenerationChunk)
class GenerationChunkAdmin(admin.ModelAdmin[GenerationChunk]):
    list_display = ["id", "job", "index", "status", "done", "total", "attempts"]
    list_filter = ["status"]
    readonly_fields = ["pairs", "error"]
