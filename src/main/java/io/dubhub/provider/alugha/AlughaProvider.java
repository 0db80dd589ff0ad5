package io.dubhub.provider.alugha;

import static io.dubhub.provider.ProviderJson.encode;
import static io.dubhub.provider.ProviderJson.join;
import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.http.UrlRedactor;
import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.JobTarget;
import io.dubhub.job.JobTarget.TargetState;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.media.MediaInfo;
import io.dubhub.pipeline.JobData;
import io.dubhub.provider.OutputLink;
import io.dubhub.provider.PollOutcome;
import io.dubhub.provider.PollOutcome.LanguageStatus;
import io.dubhub.provider.PollOutcome.Status;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderHttp;
import io.dubhub.provider.ProviderHttp.Answer;
import io.dubhub.staging.StagedFiles;
import io.dubhub.webhook.WebhookTokens;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * alugha (shared/providers/alugha-api-v2.md): multilingual video hosting. One {@code POST /videos}
 * hands alugha a staged, expiring link to our copy ({@code downloadFromUrl}), the default track in
 * the source language, and a per-job {@code statusWebhook}; alugha fetches the file and calls the
 * webhook as the video moves on (download finished, encoding started, ready for playback).
 *
 * <p>The webhook only makes the job due now ({@link AlughaWebhook}); what the video's state is,
 * is always read here with {@code GET /videos/{id}} and {@code GET /tracks}, so a forged or
 * replayed payload cannot move a job, and a lost webhook costs one poll interval.
 *
 * <p>alugha keeps the result: the outputs are hosted links (the video and each of its tracks)
 * recorded in job.json, nothing is downloaded. The documented v2 API creates the video with its
 * default track and offers no call to order more languages; a target language is delivered when
 * the ready video has a track in it (added at alugha, e.g. in the dubbr) and otherwise reported
 * as missing, with that explanation, so the job ends partial rather than claiming a track that
 * does not exist.
 */
@ApplicationScoped
@Named("alugha")
public class AlughaProvider implements ProviderAdapter {

    public static final String ID = "alugha";
    private static final Logger LOG = Logger.getLogger(AlughaProvider.class);

    static final String OP_CREATE = "create-video";
    static final String WEBHOOK_PATH = "/webhooks/alugha/";
    /** Video ids named by status webhooks while a create's answer is unknown (verified before use). */
    static final String HINTS = "webhookVideoIds";
    static final int MAX_HINTS = 5;
    static final Pattern VIDEO_ID = Pattern.compile("[A-Za-z0-9_-]{1,100}");

    /** What the hub makes of alugha's processing status (the doc names the steps, not the field values). */
    enum VideoState {
        DOWNLOADING("alugha is fetching the source"),
        DOWNLOADED("alugha finished downloading the source"),
        ENCODING("alugha is encoding the video"),
        READY("ready for playback"),
        FAILED("alugha could not process the video"),
        UNKNOWN("alugha is processing the video");

        final String meaning;

        VideoState(String meaning) {
            this.meaning = meaning;
        }
    }

    @Inject
    io.dubhub.staging.SourceUrls sourceUrls;

    @Inject
    HubConfig config;

    @Inject
    ProviderHttp http;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    StagedFiles staging;

    @Inject
    WebhookTokens webhookTokens;

    @Inject
    ObjectMapper json;

    private HubConfig.Alugha cfg() {
        return config.providers().alugha();
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public Map<String, String> endpoints() {
        return Map.of("HUB_PROVIDERS_ALUGHA_BASE_URL", cfg().baseUrl());
    }

    @Override
    public Optional<String> missingConfig() {
        return cfg().token().filter(t -> !t.isBlank()).isPresent() ? Optional.empty() : Optional.of("HUB_PROVIDERS_ALUGHA_TOKEN");
    }

    @Override
    public Duration pollInterval() {
        return cfg().pollInterval();
    }

    @Override
    public Duration pollDeadline() {
        return cfg().pollDeadline();
    }

    @Override
    public void validate(Job job, JobSpec spec, MediaInfo media) {
        if (spec.sourceLanguage() == null) {
            throw new JobRejectedException(Stage.VALIDATE, "alugha needs the spoken language for the video's default track;"
                    + " set sourceLanguage (in the sidecar or the watch route) to one of " + AlughaLanguages.SUPPORTED);
        }
        if (AlughaLanguages.toAlugha(spec.sourceLanguage()).isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "alugha cannot take source language " + spec.sourceLanguage()
                    + " as a langCode; the hub maps " + AlughaLanguages.SUPPORTED + "; scripts such as zh-Hans have no langCode form");
        }
        List<String> bad = AlughaLanguages.unsupported(spec.targetLanguages());
        if (!bad.isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "alugha cannot name target language(s) " + String.join(", ", bad)
                    + " as a langCode; the hub maps " + AlughaLanguages.SUPPORTED);
        }
        if (!spec.options().isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "alugha takes no options, but the job spec has "
                    + String.join(", ", spec.options().keySet().stream().sorted().toList()) + "; remove them");
        }
        if (!media.mimeType().startsWith("video/")) {
            throw new JobRejectedException(Stage.VALIDATE, "alugha hosts videos; " + job.sourceName() + " is " + media.describe());
        }
        stagedSource(job, Stage.VALIDATE);
    }

    /** alugha pulls our copy by URL; only files under the data folder can be handed out that way. */
    private URI stagedSource(Job job, Stage stage) {
        try {
            // a bucket object is read by alugha through a presigned GET; a folder file through /staged/
            return sourceUrls.forProvider(job, cfg().stagedLinkValidity());
        } catch (IllegalArgumentException e) {
            throw new JobRejectedException(stage, "alugha fetches the source from a link the hub serves, and the hub only serves files"
                    + " under HUB_DATA_DIR (" + config.dataDir() + "); " + job.sourceLocation() + " is outside it: watch a folder under"
                    + " the data folder for alugha");
        }
    }

    // ------------------------------------------------------------------ submit

    /**
     * Creates the video once. Every attempt is its own provider_call (create-video/try-N): an
     * INTENT without DONE is a POST whose outcome is unknown; it is never posted again blindly.
     */
    public void submit(Job job) {
        List<ProviderCall> tries = createCalls(job);
        if (tries.stream().anyMatch(c -> c.done() && c.providerRef() != null)) {
            return;
        }
        JobSpec spec = jobData.spec(job);
        Optional<String> found = verifiedHint(job);
        if (found.isPresent()) {
            adopt(job, spec, found.get(), tries.isEmpty() ? "try-1" : tries.get(tries.size() - 1).scope(),
                    "found video " + found.get() + " through alugha's status webhook and confirmed it carries this job's id;"
                            + " not creating it again");
            return;
        }
        if (tries.stream().anyMatch(c -> !c.done())) {
            // alugha's v2 API has no video listing, so a lost answer cannot be looked up by our job
            // id; the video, if it exists, names itself through the status webhook we gave it.
            throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, "alugha's answer to POST /videos was lost;"
                    + " its API offers no video listing to find the video by this job's id, so the hub waits for alugha's status"
                    + " webhook to name it and never posts again blindly. If this keeps failing, look in alugha for a video titled '"
                    + title(job, spec) + "' before dropping the file again", null);
        }
        String scope = "try-" + (tries.size() + 1);
        ledger.upsertTarget(job.id(), spec.sourceLanguage(), null, TargetState.PENDING, null);
        ObjectNode body = createBody(job, spec);
        ledger.recordIntent(job.id(), OP_CREATE, scope, null);
        Answer answer = http.call(ID, OP_CREATE, Stage.SUBMIT, "POST", uri("/videos"), auth(), body);
        if (!answer.ok()) {
            ProviderException failure = failure(OP_CREATE, Stage.SUBMIT, answer);
            // The doc: 500 means "the backend operation failed" (retry with backoff); 4xx refuse the
            // request. Any other server answer (502, 503, 504 from a gateway) may hide a video that exists.
            if (answer.status() / 100 == 4 || answer.status() == 500) {
                ledger.recordDone(job.id(), OP_CREATE, scope, null, "refused: HTTP " + answer.status());
                throw failure;
            }
            throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(), "alugha answered POST /videos with HTTP "
                    + answer.status() + ", which does not say whether the video was created; waiting for its status webhook instead"
                    + " of posting again", failure.providerMessage());
        }
        String videoId = text(answer.body(), "id");
        if (videoId == null) {
            throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(),
                    "alugha's answer to POST /videos has no video id; waiting for its status webhook to name the video", redactUrls(answer.raw()));
        }
        adopt(job, spec, videoId, scope, "alugha created video " + videoId + " (" + AlughaLanguages.toAlugha(spec.sourceLanguage()).orElseThrow()
                + "); it fetches the source from a staged link valid for " + cfg().stagedLinkValidity().toHours() + " h");
    }

    ObjectNode createBody(Job job, JobSpec spec) {
        ObjectNode body = json.createObjectNode();
        ObjectNode track = body.putObject("defaultTrack");
        track.put("langCode", AlughaLanguages.toAlugha(spec.sourceLanguage()).orElseThrow());
        track.put("title", title(job, spec));
        track.put("description", description(job, spec));
        body.put("downloadFromUrl", stagedSource(job, Stage.SUBMIT).toString());
        body.put("statusWebhook", webhookUrl(job.id()).toString());
        return body;
    }

    /** The title carries our job id, so a video found through a webhook can be checked to be ours. */
    static String title(Job job, JobSpec spec) {
        String base = spec.title() != null && !spec.title().isBlank() ? spec.title() : job.sourceName();
        return base + " [" + job.id() + "]";
    }

    static String description(Job job, JobSpec spec) {
        String base = spec.description() != null && !spec.description().isBlank() ? spec.description() : job.sourceName();
        return base + "\n\n(dubhub job " + job.id() + ")";
    }

    /** {HUB_PUBLIC_BASE_URL}/webhooks/alugha/{jobId}?token=...: the token is a secret, never logged. */
    URI webhookUrl(String jobId) {
        return join(config.publicBaseUrl(), WEBHOOK_PATH + encode(jobId) + "?token=" + encode(webhookTokens.token(ID, jobId)));
    }

    private void adopt(Job job, JobSpec spec, String videoId, String scope, String event) {
        ObjectNode data = json.createObjectNode();
        data.put("videoId", videoId);
        ledger.setProviderRef(job.id(), videoId, data.toString());
        ledger.upsertTarget(job.id(), spec.sourceLanguage(), videoId, TargetState.RUNNING, null);
        ledger.recordDone(job.id(), OP_CREATE, scope, videoId, null);
        ledger.event(job.id(), Stage.SUBMIT, event);
    }

    private List<ProviderCall> createCalls(Job job) {
        return ledger.calls(job.id()).stream().filter(c -> c.operation().equals(OP_CREATE)).toList();
    }

    /** A video id some status webhook named for this job, confirmed by alugha to carry our job id. */
    private Optional<String> verifiedHint(Job job) {
        for (String candidate : hints(ledger.load(job.id()))) {
            Answer answer = http.call(ID, "get-video", Stage.SUBMIT, "GET", uri("/videos/" + encode(candidate)), auth(), null);
            if (answer.status() == 404) {
                continue;
            }
            if (!answer.ok()) {
                throw failure("get-video", Stage.SUBMIT, answer);
            }
            if (carriesJobId(answer.body(), job.id())) {
                return Optional.of(candidate);
            }
            LOG.warnf("Job %s: a status webhook named alugha video %s, which does not carry this job's id; ignored", job.id(), candidate);
        }
        return Optional.empty();
    }

    /** Our job id in the video's title or description, wherever alugha puts the default track's text. */
    static boolean carriesJobId(JsonNode video, String jobId) {
        List<JsonNode> places = new ArrayList<>(List.of(video));
        for (String field : List.of("defaultTrack", "track")) {
            if (video.path(field).isObject()) {
                places.add(video.get(field));
            }
        }
        for (JsonNode node : places) {
            for (String field : List.of("title", "description")) {
                String value = text(node, field);
                if (value != null && value.contains(jobId)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Records a video id a status webhook named while the create's answer is unknown. Called by {@link AlughaWebhook}. */
    void rememberHint(Job job, String videoId) {
        if (videoId == null || !VIDEO_ID.matcher(videoId).matches() || job.providerRef() != null) {
            return;
        }
        Set<String> hints = new LinkedHashSet<>(hints(job));
        if (hints.size() >= MAX_HINTS || !hints.add(videoId)) {
            return;
        }
        ObjectNode data = json.createObjectNode();
        ArrayNode list = data.putArray(HINTS);
        hints.forEach(list::add);
        ledger.setProviderData(job.id(), data.toString());
    }

    private List<String> hints(Job job) {
        List<String> out = new ArrayList<>();
        JsonNode data = jobData.tree(job.providerData());
        if (data != null) {
            data.path(HINTS).forEach(n -> out.add(n.asText()));
        }
        return out;
    }

    // ------------------------------------------------------------------ follow

    public PollOutcome status(Job job) {
        String videoId = videoId(job);
        JsonNode video = video(videoId, Stage.POLL);
        VideoState state = stateOf(video);
        String said = statusText(video);
        recordStateChange(job, videoId, state, said);
        JobSpec spec = jobData.spec(job);
        Map<String, LanguageStatus> languages = new LinkedHashMap<>();
        List<JsonNode> tracks = state == VideoState.READY ? tracks(videoId, video, Stage.POLL) : List.of();
        for (JobTarget target : ledger.targets(job.id())) {
            languages.put(target.language(), switch (state) {
                case FAILED -> new LanguageStatus(Status.FAILED, "alugha could not process video " + videoId
                        + (said == null ? "" : " (status '" + said + "')") + errorText(video));
                case READY -> readyStatus(target.language(), spec, videoId, tracks);
                default -> new LanguageStatus(Status.RUNNING, state.meaning + (said == null ? "" : " ('" + said + "')"));
            });
        }
        return new PollOutcome(languages, "video " + videoId + ": " + state.meaning);
    }

    private LanguageStatus readyStatus(String language, JobSpec spec, String videoId, List<JsonNode> tracks) {
        Optional<JsonNode> track = tracks.stream().filter(t -> AlughaLanguages.sameLanguage(language, text(t, "langCode"))).findFirst();
        if (track.isPresent()) {
            return new LanguageStatus(Status.DONE, "ready for playback: track " + text(track.get(), "id") + " (" + text(track.get(), "langCode") + ")");
        }
        if (language.equals(spec.sourceLanguage())) {
            // The default track was created with the video; a ready video without it in the list is alugha's detail.
            return new LanguageStatus(Status.DONE, "ready for playback");
        }
        return new LanguageStatus(Status.FAILED, "video " + videoId + " is ready on alugha but has no "
                + AlughaLanguages.toAlugha(language).orElse(language) + " track: alugha's API v2 offers no call to order one,"
                + " so add it at alugha (e.g. in the dubbr)");
    }

    /** The state history: each status alugha reports for the first time becomes a job event (so job.json has it). */
    private void recordStateChange(Job job, String videoId, VideoState state, String said) {
        ObjectNode data = Optional.ofNullable(jobData.tree(job.providerData())).filter(JsonNode::isObject)
                .map(n -> (ObjectNode) n.deepCopy()).orElseGet(json::createObjectNode);
        String key = state.name() + "|" + (said == null ? "" : said);
        if (key.equals(text(data, "lastStatus"))) {
            return;
        }
        data.put("videoId", videoId);
        data.put("lastStatus", key);
        ledger.setProviderData(job.id(), data.toString());
        ledger.event(job.id(), Stage.POLL, "alugha video " + videoId + ": " + state.meaning + (said == null ? "" : " (status '" + said + "')"));
    }

    /**
     * The doc names the lifecycle (download finished, encoding started, ready for playback) but
     * not the field: read "status"/"state"/"processingStatus" and a few booleans, tolerantly; an
     * unknown value keeps the job running and is logged.
     */
    static VideoState stateOf(JsonNode video) {
        if (video.path("ready").asBoolean(false) || video.path("playable").asBoolean(false) || video.path("isReady").asBoolean(false)) {
            return VideoState.READY;
        }
        String s = statusText(video);
        if (s == null) {
            return VideoState.UNKNOWN;
        }
        String v = s.toLowerCase(Locale.ROOT);
        if (v.contains("fail") || v.contains("error") || v.contains("reject")) {
            return VideoState.FAILED;
        }
        if (v.contains("ready") || v.contains("playable") || v.contains("published") || v.equals("done") || v.contains("finished")
                || v.contains("complete")) {
            return VideoState.READY;
        }
        if (v.contains("encod") || v.contains("transcod") || v.contains("processing")) {
            return VideoState.ENCODING;
        }
        if (v.equals("downloaded") || v.contains("download_finished") || v.contains("download-finished")) {
            return VideoState.DOWNLOADED;
        }
        if (v.contains("download") || v.contains("pending") || v.contains("queued") || v.contains("created")) {
            return VideoState.DOWNLOADING;
        }
        LOG.warnf("alugha reported an undocumented video status '%s'; treating it as still processing", s);
        return VideoState.UNKNOWN;
    }

    static String statusText(JsonNode video) {
        for (String field : List.of("status", "state", "processingStatus", "processingState")) {
            JsonNode n = video.get(field);
            if (n != null && n.isTextual() && !n.asText().isBlank()) {
                return n.asText();
            }
            if (n != null && n.isObject()) {
                String inner = text(n, "name") != null ? text(n, "name") : text(n, "state");
                if (inner != null) {
                    return inner;
                }
            }
        }
        return null;
    }

    private static String errorText(JsonNode video) {
        for (String field : List.of("error", "errorMessage", "message")) {
            String v = text(video, field);
            if (v != null && !v.isBlank()) {
                return ": " + v;
            }
        }
        return "";
    }

    // ------------------------------------------------------------------ outputs

    /** The video and each of its tracks, as hosted links: recorded in job.json, not downloaded. */
    public List<OutputLink> outputs(Job job) {
        String videoId = videoId(job);
        JsonNode video = video(videoId, Stage.DOWNLOAD);
        JobSpec spec = jobData.spec(job);
        List<String> languages = ledger.targets(job.id()).stream().map(JobTarget::language).toList();
        List<OutputLink> links = new ArrayList<>();
        Map<String, String> videoDetails = new LinkedHashMap<>();
        putIfPresent(videoDetails, "title", Optional.ofNullable(text(video.path("defaultTrack"), "title")).orElse(text(video, "title")));
        putIfPresent(videoDetails, "status", statusText(video));
        putIfPresent(videoDetails, "api", uri("/videos/" + encode(videoId)).toString());
        links.add(OutputLink.hosted(spec.sourceLanguage(), "video", linkOf(video, "/videos/" + encode(videoId)), videoId, videoDetails));
        String defaultTrackId = Optional.ofNullable(text(video.path("defaultTrack"), "id")).orElse(text(video, "defaultTrackId"));
        for (JsonNode track : tracks(videoId, video, Stage.DOWNLOAD)) {
            String trackId = text(track, "id");
            String langCode = text(track, "langCode");
            if (trackId == null) {
                continue;
            }
            String language = languages.stream().filter(l -> AlughaLanguages.sameLanguage(l, langCode)).findFirst()
                    .orElse(AlughaLanguages.toBcp47(langCode));
            Map<String, String> details = new LinkedHashMap<>();
            putIfPresent(details, "langCode", langCode);
            putIfPresent(details, "title", text(track, "title"));
            if (trackId.equals(defaultTrackId) || track.path("isDefault").asBoolean(false) || track.path("default").asBoolean(false)) {
                details.put("default", "true");
            }
            putIfPresent(details, "api", uri("/tracks/" + encode(trackId)).toString());
            links.add(OutputLink.hosted(language, "track", linkOf(track, "/tracks/" + encode(trackId)), trackId, details));
            if (!language.equals(spec.sourceLanguage()) && languages.contains(language)) {
                // the target's alugha object is its track (the source language's is the video itself)
                ledger.targets(job.id()).stream().filter(t -> t.language().equals(language) && t.state() == TargetState.DONE)
                        .findFirst().ifPresent(t -> ledger.upsertTarget(job.id(), language, trackId, TargetState.DONE, null));
            }
        }
        return links;
    }

    /** Hosted links do not expire like presigned downloads; nothing to refresh. */
    @Override
    public OutputLink refresh(Job job, OutputLink expired) {
        throw new ProviderException(ID, Kind.REJECTED, Stage.DOWNLOAD, 0,
                "alugha hosts its outputs; there is no download link to refresh for " + expired.type() + " " + expired.providerRef(), null);
    }

    /** The link alugha gives (a watch or player URL), else the API resource itself. */
    private URI linkOf(JsonNode node, String apiPath) {
        for (String field : List.of("url", "link", "watchUrl", "playerUrl", "shareUrl")) {
            String v = text(node, field);
            if (v != null && (v.startsWith("https://") || v.startsWith("http://"))) {
                return URI.create(v);
            }
        }
        return uri(apiPath);
    }

    private static void putIfPresent(Map<String, String> map, String key, String value) {
        if (value != null && !value.isBlank()) {
            map.put(key, value);
        }
    }

    // ------------------------------------------------------------------ API reads

    private JsonNode video(String videoId, Stage stage) {
        Answer answer = http.call(ID, "get-video", stage, "GET", uri("/videos/" + encode(videoId)), auth(), null);
        if (answer.status() == 404) {
            throw new ProviderException(ID, Kind.REJECTED, stage, 404, "alugha no longer has video " + videoId
                    + " (deleted at alugha?); nothing more to follow", redactUrls(ProviderHttp.providerMessage(answer)));
        }
        if (!answer.ok() || answer.body() == null) {
            throw failure("get-video", stage, answer);
        }
        return answer.body();
    }

    /**
     * The video's tracks: GET /tracks for the video (the doc: "list tracks of a video"), tolerating a
     * bare array or one wrapped in items/tracks/data; tracks that name another video are left out.
     */
    private List<JsonNode> tracks(String videoId, JsonNode video, Stage stage) {
        Answer answer = http.call(ID, "list-tracks", stage, "GET", uri("/tracks?videoId=" + encode(videoId)), auth(), null);
        if (!answer.ok()) {
            throw failure("list-tracks", stage, answer);
        }
        JsonNode list = answer.body();
        if (list != null && list.isObject()) {
            for (String field : List.of("items", "tracks", "data", "results")) {
                if (list.path(field).isArray()) {
                    list = list.get(field);
                    break;
                }
            }
        }
        List<JsonNode> out = new ArrayList<>();
        if (list != null && list.isArray()) {
            for (JsonNode t : list) {
                String owner = text(t, "videoId");
                if (owner == null || owner.equals(videoId)) {
                    out.add(t);
                }
            }
        }
        if (out.isEmpty() && video.path("defaultTrack").isObject() && text(video.get("defaultTrack"), "langCode") != null) {
            out.add(video.get("defaultTrack"));
        }
        return out;
    }

    /**
     * The usual meaning of an error answer, with any URL in alugha's words redacted: an answer that
     * echoes our request would otherwise carry the webhook token or the staged link into
     * error.json and the job API.
     */
    private static ProviderException failure(String operation, Stage stage, Answer answer) {
        ProviderException e = ProviderHttp.failure(ID, operation, stage, answer);
        return new ProviderException(ID, e.kind(), stage, e.httpStatus(), redactUrls(e.getMessage()), redactUrls(e.providerMessage()));
    }

    private static final Pattern URL_IN_TEXT = Pattern.compile("https?://[^\\s\"'<>]+");

    static String redactUrls(String text) {
        if (text == null) {
            return null;
        }
        return URL_IN_TEXT.matcher(text).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(UrlRedactor.redact(m.group())));
    }

    private String videoId(Job job) {
        if (job.providerRef() == null) {
            throw new IllegalStateException("job " + job.id() + " has no alugha video yet");
        }
        return job.providerRef();
    }

    private Map<String, String> auth() {
        return Map.of("Authorization", "Bearer " + cfg().token().orElse(""));
    }

    private URI uri(String path) {
        return join(cfg().baseUrl(), path);
    }
}
