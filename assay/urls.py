from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from assay.views import MeApi, api_docs, api_redoc, health, spa
from classifiers import apis as clf
from cleaning import apis as cleaning
from core.accounts import SignInView, TokenApi, UserTokensApi
from core.api import ids_in_range
from generation import apis as gen
from labeling.campaigns import apis as lab
from labeling.care import apis as care
from labeling.exports import apis as exports
from labeling.quality import apis as quality
from labeling.queue import apis as queue
from labeling.scores import apis as scores

api = [
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("me/", MeApi.as_view()),
    path("users/<int:pk>/tokens/", UserTokensApi.as_view(), name="user-tokens"),
    path("rubrics/default/", lab.DefaultRubricApi.as_view()),
    path("campaigns/", lab.CampaignListApi.as_view(), name="campaign-list"),
    path("campaigns/<int:pk>/", lab.CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/members/", lab.MembershipApi.as_view()),
    path("campaigns/<int:pk>/members/<int:user_id>/", lab.MembershipDetailApi.as_view()),
    path("campaigns/<int:pk>/prompts/", lab.PromptListApi.as_view()),
    path("campaigns/<int:pk>/prompts/import/", lab.PromptImportApi.as_view()),
    path("campaigns/<int:pk>/items/", lab.ItemListApi.as_view()),
    path("campaigns/<int:pk>/next/", queue.NextApi.as_view(), name="campaign-next"),
    path("campaigns/<int:pk>/scores/", scores.CampaignScoresApi.as_view()),
    path("campaigns/<int:pk>/scores/refresh/", scores.CampaignScoresRefreshApi.as_view()),
    path("campaigns/<int:pk>/export/", exports.CampaignExportApi.as_view()),
    path("campaigns/<int:pk>/export/datasheet/", exports.DatasheetApi.as_view()),
    path("campaigns/<int:pk>/label-studio/config/", exports.LabelStudioConfigApi.as_view()),
    path("campaigns/<int:pk>/label-studio/import/", exports.LabelStudioImportApi.as_view()),
    path("leaderboard/", scores.LeaderboardApi.as_view(), name="leaderboard"),
    path("campaigns/<int:pk>/dashboard/", lab.CampaignDashboardApi.as_view()),
    path("campaigns/<int:pk>/analytics-status/", lab.CampaignAnalyticsStatusApi.as_view()),
    path("campaigns/<int:pk>/quality/", quality.QualityApi.as_view()),
    path("campaigns/<int:pk>/quality/refit/", quality.QualityRefitApi.as_view()),
    path("campaigns/<int:pk>/review/", quality.ReviewQueueApi.as_view()),
    path("campaigns/<int:pk>/review/<int:item_id>/", quality.ReviewItemApi.as_view()),
    path("campaigns/<int:pk>/review/<int:item_id>/adjudicate/", quality.AdjudicateApi.as_view()),
    path("campaigns/<int:pk>/items/<int:item_id>/gold/", quality.GoldItemApi.as_view()),
    path("campaigns/<int:pk>/gold/promote/", quality.GoldPromoteApi.as_view()),
    path("campaigns/<int:pk>/members/<int:user_id>/resume/", quality.MemberResumeApi.as_view()),
    path("campaigns/<int:pk>/my-progress/", queue.MyProgressApi.as_view()),
    path("campaigns/<int:pk>/my-history/", queue.MyHistoryApi.as_view()),
    path("campaigns/<int:pk>/private-exposures/", queue.PrivateExposureApi.as_view()),
    path("campaigns/<int:pk>/care/", care.MyCareApi.as_view()),
    path("campaigns/<int:pk>/care/acknowledge/", care.AcknowledgeWarningApi.as_view()),
    path("campaigns/<int:pk>/care/break/", care.TakeBreakApi.as_view()),
    path("campaigns/<int:pk>/care/exposure/", care.ExposureApi.as_view()),
    path("care/preferences/", care.CarePreferenceApi.as_view()),
    path("campaigns/<int:pk>/jobs/", gen.CampaignJobsApi.as_view()),
    path("campaigns/<int:pk>/classifier/", clf.ClassifierOverviewApi.as_view()),
    path("campaigns/<int:pk>/classifier/runs/", clf.TrainingRunListApi.as_view()),
    path("campaigns/<int:pk>/classifier/versions/", clf.ClassifierVersionListApi.as_view()),
    path("campaigns/<int:pk>/classifier/predictions/", clf.PredictionListApi.as_view()),
    path("classifier-runs/<int:pk>/", clf.TrainingRunDetailApi.as_view()),
    path("classifier-versions/<int:pk>/score/", clf.ScoreTextsApi.as_view()),
    path("classifier-scorings/<int:pk>/", clf.ScoringRequestDetailApi.as_view()),
    path("assignments/<int:pk>/submit/", queue.SubmitApi.as_view(), name="assignment-submit"),
    path("assignments/<int:pk>/skip/", queue.SkipApi.as_view(), name="assignment-skip"),
    path("assignments/<int:pk>/unskip/", queue.UnskipApi.as_view(), name="assignment-unskip"),
    path("assignments/<int:pk>/edit/", queue.EditApi.as_view(), name="assignment-edit"),
    path("models/", gen.CandidateModelListApi.as_view()),
    path("models/<int:pk>/", gen.CandidateModelDetailApi.as_view()),
    path("models/<int:pk>/test-connection/", gen.ModelTestConnectionApi.as_view()),
    path("models/<int:pk>/scores/", scores.ModelScoresApi.as_view()),
    path("models/<int:pk>/examples/", scores.ModelExamplesApi.as_view()),
    path("jobs/<int:pk>/", gen.JobDetailApi.as_view()),
    path("jobs/<int:pk>/restart/", gen.JobRestartApi.as_view()),
    path("jobs/<int:pk>/cancel/", gen.JobCancelApi.as_view()),
    path("cleaning/classifiers/", cleaning.CleaningClassifiersApi.as_view()),
    path("cleaning/jobs/", cleaning.CleaningJobListApi.as_view()),
    path("cleaning/jobs/<int:pk>/", cleaning.CleaningJobDetailApi.as_view()),
    path("cleaning/jobs/<int:pk>/start/", cleaning.CleaningJobStartApi.as_view()),
    path("cleaning/jobs/<int:pk>/resume/", cleaning.CleaningJobResumeApi.as_view()),
    path("cleaning/jobs/<int:pk>/cancel/", cleaning.CleaningJobCancelApi.as_view()),
    path("cleaning/jobs/<int:pk>/files/", cleaning.CleaningJobFilesApi.as_view()),
    path("cleaning/jobs/<int:pk>/audit/", cleaning.CleaningAuditApi.as_view()),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", api_docs, name="api-docs"),
    path("redoc/", api_redoc, name="api-redoc"),
]

# An id past the database's integer range names nothing: a 404, not an overflow (a 500).
for route in api:
    route.callback = ids_in_range(route.callback)

urlpatterns = [
    path("healthz", health),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include(api)),
    # Every other path is a route of the React app.
    re_path(r"^(?P<path>(?!api/|admin/|static/|accounts/).*)$", spa, name="home"),
]

# Under /api/ errors Django answers itself (no such route, an uncaught exception) are JSON in
# the API's error shape; other paths keep Django's pages.
handler400 = "assay.views.bad_request"
handler403 = "assay.views.permission_denied"
handler404 = "assay.views.not_found"
handler500 = "assay.views.server_error"
