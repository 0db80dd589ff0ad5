package io.dubhub.provider.perso;

import static io.dubhub.provider.ProviderJson.extensionOf;
import static io.dubhub.provider.ProviderJson.jsonField;
import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.http.BulkHttp;
import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.JobTarget;
import io.dubhub.job.JobTarget.TargetState;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.media.MediaInfo;
import io.dubhub.metrics.HubMetrics;
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
import io.dubhub.upload.AzureBlobUploader;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Perso AI (shared/providers/perso-api.md): space → SAS token → blob PUT (no API key) → register
 * video (mediaSeq) → queue once per space → translate (one project per language) → progress per
 * project, no faster than every 5 s → download-info + download per output. Called step by step
 * from routes/providers/perso.camel.yaml; each step is safe to run again after a crash, and a
 * translate whose answer was lost is found again in the project list by the job id in its title.
 */
@ApplicationScoped
@Named("perso")
public class PersoProvider implements ProviderAdapter {

    public static final String ID = "perso";
    private static final Logger LOG = Logger.getLogger(PersoProvider.class);

    /** The doc: "Do not poll more frequently than every 5 seconds". */
    public static final Duration MIN_POLL_INTERVAL = Duration.ofSeconds(5);
    static final long MAX_BYTES = 2L * 1024 * 1024 * 1024;
    static final Duration MIN_DURATION = Duration.ofSeconds(5);
    static final List<String> EXTENSIONS = List.of("mp4", "webm", "mov");
    static final List<String> TTS_MODELS = List.of("ELEVEN_V2", "ELEVEN_V3");
    static final Set<String> OPTIONS = Set.of("ttsModel", "withLipSync", "numberOfSpeakers");

    static final String OP_SPACE = "space";
    static final String OP_UPLOAD = "blob-upload";
    static final String OP_REGISTER = "register-video";
    static final String OP_QUEUE = "queue";
    static final String OP_TRANSLATE = "translate";
    /** Perso's own estimate of a job's quota (GET .../media/quota), asked once and kept: the budget and the balance check share it. */
    static final String OP_ESTIMATE = "estimate-quota";

    /** download-info flag → download target, our type name and file-name part; source-side ones once per job. */
    record OutputKind(String flag, String target, String suffix, String extension, boolean sourceSide) {
    }

    static final List<OutputKind> OUTPUT_KINDS = List.of(
            new OutputKind("hasTranslatedVideo", "dubbingVideo", "", "mp4", false),
            new OutputKind("hasLipSyncVideo", "lipSyncVideo", ".lipsync", "mp4", false),
            new OutputKind("hasTranslatedSubtitle", "translatedSubtitle", "", "srt", false),
            new OutputKind("hasTranslatedVoice", "voiceAudio", ".voice", "mp3", false),
            new OutputKind("hasTranslatedBackground", "backgroundAudio", ".background", "mp3", false),
            new OutputKind("hasTranslatedVoiceWithBackground", "voicewithBackgroundAudio", ".voice-background", "mp3", false),
            new OutputKind("hasTranslateAudio", "translatedAudio", "", "mp3", false),
            new OutputKind("hasSpeakerSegmentWithTranslationExcel", "speakerSegmentWithTranslationExcel", ".segments", "xlsx", false),
            new OutputKind("hasOriginalSubtitle", "originalSubtitle", "", "srt", true),
            new OutputKind("hasOriginalVoiceOnly", "originalVoiceAudio", ".voice", "mp3", true),
            new OutputKind("hasSpeakerSegmentExcel", "speakerSegmentExcel", ".segments", "xlsx", true));

    @Inject
    HubConfig config;

    @Inject
    ProviderHttp http;

    @Inject
    BulkHttp bulkHttp;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    HubMetrics metrics;

    @Inject
    ObjectMapper json;

    /** Spaces whose queue this process initialised (PUT .../queue is idempotent: after a restart it is called once more). */
    private final Set<Long> queuesReady = ConcurrentHashMap.newKeySet();

    private HubConfig.Perso cfg() {
        return config.providers().perso();
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public Map<String, String> endpoints() {
        return Map.of("HUB_PROVIDERS_PERSO_BASE_URL", config.providers().perso().baseUrl(),
                "HUB_PROVIDERS_PERSO_MEDIA_BASE_URL", config.providers().perso().mediaBaseUrl());
    }

    @Override
    public Optional<String> missingConfig() {
        return cfg().apiKey().filter(k -> !k.isBlank()).isPresent() ? Optional.empty() : Optional.of("HUB_PROVIDERS_PERSO_API_KEY");
    }

    /** The configured interval, never below Perso's documented 5 s. */
    @Override
    public Duration pollInterval() {
        Duration configured = cfg().pollInterval();
        return configured.compareTo(MIN_POLL_INTERVAL) < 0 ? MIN_POLL_INTERVAL : configured;
    }

    @Override
    public Duration pollDeadline() {
        return cfg().pollDeadline();
    }

    @Override
    public void validate(Job job, JobSpec spec, MediaInfo media) {
        List<String> bad = spec.targetLanguages().stream().filter(l -> PersoLanguages.toPerso(l).isEmpty()).toList();
        if (spec.sourceLanguage() != null && PersoLanguages.toPerso(spec.sourceLanguage()).isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "Perso cannot dub from source language " + spec.sourceLanguage()
                    + "; it supports " + String.join(", ", PersoLanguages.SUPPORTED) + " (or leave it empty for auto-detection)");
        }
        if (!bad.isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "Perso does not offer target language(s) " + String.join(", ", bad)
                    + "; it supports " + String.join(", ", PersoLanguages.SUPPORTED));
        }
        List<String> unknown = spec.options().keySet().stream().filter(k -> !OPTIONS.contains(k)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "unknown Perso option(s) " + String.join(", ", unknown)
                    + "; known options are " + String.join(", ", OPTIONS.stream().sorted().toList()));
        }
        Object tts = spec.options().get("ttsModel");
        if (tts != null && !TTS_MODELS.contains(String.valueOf(tts))) {
            throw new JobRejectedException(Stage.VALIDATE, "Perso option ttsModel must be one of " + String.join(", ", TTS_MODELS) + ", not " + tts);
        }
        Object lip = spec.options().get("withLipSync");
        if (lip != null && !(lip instanceof Boolean)) {
            throw new JobRejectedException(Stage.VALIDATE, "Perso option withLipSync must be true or false, not " + lip);
        }
        Object speakers = spec.options().get("numberOfSpeakers");
        if (speakers != null && !(speakers instanceof Number n && n.intValue() >= 1 && n.doubleValue() == n.intValue())) {
            throw new JobRejectedException(Stage.VALIDATE, "Perso option numberOfSpeakers must be a whole number of at least 1, not " + speakers);
        }
        String ext = extension(job.sourceName());
        if (!EXTENSIONS.contains(ext)) {
            throw new JobRejectedException(Stage.VALIDATE, "Perso takes video files ending in ." + String.join(", .", EXTENSIONS)
                    + " (F4007); rename or convert " + job.sourceName());
        }
        if (media.sizeBytes() > MAX_BYTES) {
            throw new JobRejectedException(Stage.VALIDATE, "the file is " + media.sizeBytes() + " bytes; Perso takes at most 2 GB per file (F4004)");
        }
        if (media.duration() != null && media.duration().compareTo(MIN_DURATION) < 0) {
            throw new JobRejectedException(Stage.VALIDATE, "the video is " + media.duration().toMillis() / 1000.0
                    + " s long; Perso needs at least 5 s (F4009)");
        }
        for (Integer side : new Integer[]{media.width(), media.height()}) {
            if (side != null && (side < 201 || side > 7999)) {
                throw new JobRejectedException(Stage.VALIDATE, "the video is " + media.width() + "x" + media.height()
                        + "; Perso takes 201 to 7999 pixels per side (F40010/F40011)");
            }
        }
    }

    /**
     * Perso prices a job itself: GET .../media/quota with the media's type, duration, size, lip sync
     * and language count answers {@code expectedUsedQuota}, in the same units as the space's
     * {@code remainingQuota}. That figure is what a daily budget for Perso reserves.
     */
    @Override
    public java.util.OptionalDouble estimateCredits(Job job, JobSpec spec, MediaInfo media) {
        resolveSpace(job);
        return java.util.OptionalDouble.of(quotaEstimate(job, spec, media));
    }

    private long quotaEstimate(Job job, JobSpec spec, MediaInfo media) {
        Optional<ProviderCall> known = ledger.call(job.id(), OP_ESTIMATE, "job").filter(ProviderCall::done);
        if (known.isPresent()) {
            return Long.parseLong(known.get().providerRef());
        }
        if (media.duration() == null) {
            throw new JobRejectedException(Stage.SUBMIT, "the media's duration is unknown, so Perso's quota for it cannot be estimated");
        }
        StringBuilder query = new StringBuilder("?mediaType=").append(media.hasVideo() ? "VIDEO" : "AUDIO")
                .append("&lipSync=").append(Boolean.TRUE.equals(spec.options().get("withLipSync")))
                .append("&durationMs=").append(media.duration().toMillis())
                .append("&targetLanguageSize=").append(spec.targetLanguages().size());
        if (media.width() != null && media.height() != null) {
            query.append("&width=").append(media.width()).append("&height=").append(media.height());
        }
        Answer answer = http.call(ID, "estimate-quota", Stage.SUBMIT, "GET",
                uri("/video-translator/api/v1/projects/spaces/" + spaceSeq(job) + "/media/quota" + query), auth(), null);
        if (!answer.ok()) {
            throw PersoErrors.failure("estimate-quota", Stage.SUBMIT, answer);
        }
        JsonNode expected = answer.body().path("result").path("expectedUsedQuota");
        if (!expected.isNumber()) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.SUBMIT, answer.status(), "Perso's quota estimate has no expectedUsedQuota", answer.raw());
        }
        long need = (long) Math.ceil(expected.asDouble());
        ledger.recordDone(job.id(), OP_ESTIMATE, "job", Long.toString(need), null);
        return need;
    }

    /**
     * Before anything is uploaded: the space's remaining quota (GET .../plan/status) against Perso's
     * estimate for this job. Too little fails the job here, with both figures, instead of at the
     * translate call (VT4021) after the upload.
     */
    public void checkQuota(Job job) {
        if (ledger.call(job.id(), OP_TRANSLATE, "job").isPresent()) {
            return; // translate was (being) asked for: the quota was checked before it
        }
        JobSpec spec = jobData.spec(job);
        MediaInfo media = jobData.media(job);
        Answer answer = http.call(ID, "plan-status", Stage.SUBMIT, "GET",
                uri("/video-translator/api/v1/projects/spaces/" + spaceSeq(job) + "/plan/status"), auth(), null);
        if (answer.status() == 404 && PersoErrors.code(answer).isEmpty()) {
            ledger.event(job.id(), Stage.SUBMIT, "Perso has no plan status endpoint here (HTTP 404); the quota was not checked before uploading");
            return;
        }
        if (!answer.ok()) {
            throw PersoErrors.failure("plan-status", Stage.SUBMIT, answer);
        }
        JsonNode result = answer.body().path("result");
        JsonNode remaining = result.path("remainingQuota").isObject() ? result.path("remainingQuota").path("remainingQuota")
                : result.path("remainingQuota");
        if (!remaining.isNumber()) {
            ledger.event(job.id(), Stage.SUBMIT, "Perso plan status shows no remaining quota; not checked before uploading");
            return;
        }
        long need = quotaEstimate(job, spec, media);
        String resets = result.hasNonNull("resetDateTime") ? " (it resets " + result.get("resetDateTime").asText() + ")" : "";
        String what = spec.targetLanguages().size() + " language(s), " + media.duration().toMillis() / 1000.0 + " s"
                + (Boolean.TRUE.equals(spec.options().get("withLipSync")) ? ", lip sync" : "");
        if (need > remaining.asDouble()) {
            throw new ProviderException(ID, Kind.OUT_OF_CREDITS, Stage.SUBMIT, answer.status(),
                    "Perso: out of quota: this job needs " + need + " (Perso's estimate for " + what + "), the space has "
                            + remaining.asText() + " left" + resets + "; nothing was uploaded. Top up or wait for the reset, then drop the file again",
                    answer.raw());
        }
        ledger.event(job.id(), Stage.SUBMIT, "Perso quota: " + remaining.asText() + " left, this job needs " + need + " (" + what + ")");
    }

    // ------------------------------------------------------------------ submit, step by step

    /** The space: HUB_PROVIDERS_PERSO_SPACE_SEQ checked with GET /spaces/{seq}, or the first space the key belongs to. */
    public void resolveSpace(Job job) {
        if (ledger.call(job.id(), OP_SPACE, "job").filter(ProviderCall::done).isPresent()) {
            return;
        }
        JsonNode space;
        Optional<Long> configured = cfg().spaceSeq();
        if (configured.isPresent()) {
            Answer answer = http.call(ID, "get-space", Stage.SUBMIT, "GET", uri("/portal/api/v1/spaces/" + configured.get()), auth(), null);
            if (!answer.ok()) {
                throw PersoErrors.failure("get-space", Stage.SUBMIT, answer);
            }
            space = answer.body().path("result");
        } else {
            Answer answer = http.call(ID, "list-spaces", Stage.SUBMIT, "GET", uri("/portal/api/v1/spaces"), auth(), null);
            if (!answer.ok()) {
                throw PersoErrors.failure("list-spaces", Stage.SUBMIT, answer);
            }
            List<JsonNode> spaces = new ArrayList<>();
            answer.body().path("result").forEach(spaces::add);
            if (spaces.isEmpty()) {
                throw new ProviderException(ID, Kind.MISCONFIGURED, Stage.SUBMIT, answer.status(),
                        "the Perso API key belongs to no space; set HUB_PROVIDERS_PERSO_SPACE_SEQ or create a space", answer.raw());
            }
            space = spaces.stream().filter(s -> s.path("isDefaultSpaceOwned").asBoolean(false)).findFirst().orElse(spaces.get(0));
        }
        long seq = space.path("spaceSeq").asLong(configured.orElse(0L));
        if (seq <= 0) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.SUBMIT, 200, "Perso's space answer has no spaceSeq", space.toString());
        }
        ObjectNode detail = json.createObjectNode();
        detail.put("memberRole", space.path("memberRole").asText("space_owner"));
        detail.put("spaceName", space.path("spaceName").asText(""));
        ledger.recordDone(job.id(), OP_SPACE, "job", Long.toString(seq), detail.toString());
        ledger.event(job.id(), Stage.SUBMIT, "Perso space " + seq + " (" + space.path("spaceName").asText("?") + ", "
                + detail.get("memberRole").asText() + ")");
    }

    /** SAS token → blob upload (single PUT or blocks) → nothing billable yet; a crash just uploads again. */
    public void upload(Job job) {
        if (ledger.call(job.id(), OP_UPLOAD, "job").filter(ProviderCall::done).isPresent()) {
            return;
        }
        ledger.recordIntent(job.id(), OP_UPLOAD, "job", null);
        Path file = Path.of(job.sourceLocation());
        long started = System.nanoTime();
        AzureBlobUploader.Result result = uploader().upload(file, () -> sasUrl(job.sourceName()));
        double seconds = (System.nanoTime() - started) / 1e9;
        metrics.bytesMoved(ID, "upload", result.bytes());
        ObjectNode detail = json.createObjectNode();
        detail.put("fileUrl", result.blobUrl().toString());
        detail.put("bytes", result.bytes());
        detail.put("blocks", result.blocks());
        ledger.recordDone(job.id(), OP_UPLOAD, "job", null, detail.toString());
        ledger.event(job.id(), Stage.UPLOAD, String.format(Locale.ROOT, "uploaded %d bytes to Perso's blob storage in %.1f s (%s%s)",
                result.bytes(), seconds, result.blocks() == 0 ? "one PUT" : result.blocks() + " blocks",
                result.sasUrlsUsed() > 1 ? ", " + result.sasUrlsUsed() + " SAS tokens: the first expired" : ""));
    }

    AzureBlobUploader uploader() {
        return new AzureBlobUploader(bulkHttp, ID, cfg().singlePutMaxBytes(), cfg().blockBytes(), 4);
    }

    private URI sasUrl(String fileName) {
        Answer answer = http.call(ID, "sas-token", Stage.UPLOAD, "GET",
                uri("/file/api/upload/sas-token?fileName=" + enc(fileName)), auth(), null);
        if (!answer.ok()) {
            throw PersoErrors.failure("sas-token", Stage.UPLOAD, answer);
        }
        String url = text(answer.body(), "blobSasUrl");
        if (url == null) {
            url = text(answer.body().path("result"), "blobSasUrl");
        }
        if (url == null) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.UPLOAD, answer.status(), "Perso's sas-token answer has no blobSasUrl", answer.raw());
        }
        return URI.create(url);
    }

    /** PUT /file/api/upload/video with the blob URL (no query) → mediaSeq. */
    public void register(Job job) {
        if (ledger.call(job.id(), OP_REGISTER, "job").filter(ProviderCall::done).isPresent()) {
            return;
        }
        String fileUrl = jsonField(ledger.call(job.id(), OP_UPLOAD, "job").orElseThrow().detail(), "fileUrl");
        ledger.recordIntent(job.id(), OP_REGISTER, "job", null);
        ObjectNode body = json.createObjectNode();
        body.put("spaceSeq", spaceSeq(job));
        body.put("fileUrl", fileUrl);
        body.put("fileName", job.sourceName());
        Answer answer = http.call(ID, "upload-video", Stage.UPLOAD, "PUT", uri("/file/api/upload/video"), auth(), body);
        if (!answer.ok()) {
            throw PersoErrors.failure("upload-video", Stage.UPLOAD, answer);
        }
        JsonNode b = answer.body().has("seq") ? answer.body() : answer.body().path("result");
        if (!b.hasNonNull("seq")) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.UPLOAD, answer.status(), "Perso's upload-video answer has no seq", answer.raw());
        }
        String mediaSeq = b.get("seq").asText();
        ledger.recordDone(job.id(), OP_REGISTER, "job", mediaSeq, null);
        ledger.setProviderData(job.id(), json.createObjectNode().put("spaceSeq", spaceSeq(job)).put("mediaSeq", Long.parseLong(mediaSeq)).toString());
        ledger.event(job.id(), Stage.UPLOAD, "registered with Perso as media " + mediaSeq
                + (b.hasNonNull("durationMs") ? " (" + b.get("durationMs").asLong() / 1000.0 + " s)" : ""));
    }

    /**
     * One translate call for all languages. An earlier attempt whose answer was lost is looked up
     * in the project list by the job id in the title first: a project found there is adopted, never
     * paid for twice.
     */
    public void translate(Job job) {
        if (ledger.call(job.id(), OP_TRANSLATE, "job").filter(ProviderCall::done).isPresent()) {
            return;
        }
        long space = spaceSeq(job);
        if (ledger.call(job.id(), OP_TRANSLATE, "job").isPresent()) {
            List<JsonNode> found = projectsOf(job, space);
            if (!found.isEmpty()) {
                adopt(job, found);
                ledger.event(job.id(), Stage.SUBMIT, "found " + found.size() + " Perso project(s) of this job from before a lost answer"
                        + " or restart; not translating again");
                return;
            }
        }
        ensureQueue(job, space, false);
        ledger.recordIntent(job.id(), OP_TRANSLATE, "job", null);
        ObjectNode body = translateBody(job);
        URI url = uri("/video-translator/api/v1/projects/spaces/" + space + "/translate");
        Answer answer = http.call(ID, OP_TRANSLATE, Stage.SUBMIT, "POST", url, auth(), body);
        if (PersoErrors.queueNotFound(answer)) {
            ledger.event(job.id(), Stage.SUBMIT, "Perso says the space has no queue yet; initialising it and trying once more");
            ensureQueue(job, space, true);
            answer = http.call(ID, OP_TRANSLATE, Stage.SUBMIT, "POST", url, auth(), body);
        }
        if (!answer.ok()) {
            ProviderException failure = PersoErrors.failure(OP_TRANSLATE, Stage.SUBMIT, answer);
            if (failure.kind() == Kind.TRANSIENT) {
                throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(),
                        "Perso did not confirm translate (HTTP " + answer.status() + "): " + failure.getMessage()
                                + "; will look for the projects by title before trying again", failure.providerMessage());
            }
            throw failure;
        }
        List<Long> ids = new ArrayList<>();
        answer.body().path("result").path("startGenerateProjectIdList").forEach(n -> ids.add(n.asLong()));
        if (ids.isEmpty()) {
            throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(),
                    "Perso's translate answer lists no project; will look for them by title", answer.raw());
        }
        List<String> languages = jobData.spec(job).targetLanguages();
        List<JsonNode> projects = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            if (ids.size() == languages.size()) {
                // The doc's example answers one id per requested language, in request order.
                ObjectNode p = json.createObjectNode().put("seq", ids.get(i));
                p.putObject("targetLanguage").put("code", PersoLanguages.toPerso(languages.get(i)).orElseThrow());
                projects.add(p);
            } else {
                projects.add(project(ids.get(i), space));
            }
        }
        adopt(job, projects);
        ledger.event(job.id(), Stage.SUBMIT, "Perso translate: project(s) " + ids);
    }

    private ObjectNode translateBody(Job job) {
        JobSpec spec = jobData.spec(job);
        Map<String, Object> options = spec.options();
        String tts = String.valueOf(options.getOrDefault("ttsModel", "ELEVEN_V2"));
        ObjectNode body = json.createObjectNode();
        body.put("mediaSeq", Long.parseLong(ledger.call(job.id(), OP_REGISTER, "job").orElseThrow().providerRef()));
        body.put("isVideoProject", true);
        body.put("sourceLanguageCode", spec.sourceLanguage() == null ? "auto" : PersoLanguages.toPerso(spec.sourceLanguage()).orElseThrow());
        ArrayNode targets = body.putArray("targetLanguages");
        for (String lang : spec.targetLanguages()) {
            targets.addObject().put("languageCode", PersoLanguages.toPerso(lang).orElseThrow()).put("ttsModel", tts);
        }
        body.put("numberOfSpeakers", options.get("numberOfSpeakers") instanceof Number n ? n.intValue() : 1);
        body.put("withLipSync", Boolean.TRUE.equals(options.get("withLipSync")));
        body.put("preferredSpeedType", "GREEN");
        body.put("title", title(job, spec));
        return body;
    }

    /** The provider-side title carries our job id, so a lost answer is found again in the project list. */
    static String title(Job job, JobSpec spec) {
        String base = spec.title() != null && !spec.title().isBlank() ? spec.title() : job.sourceStem();
        return base + " [" + job.id() + "]";
    }

    private void ensureQueue(Job job, long space, boolean force) {
        String scope = "space:" + space;
        if (!force && queuesReady.contains(space)) {
            return;
        }
        ledger.recordIntent(job.id(), OP_QUEUE, scope, null);
        Answer answer = http.call(ID, "init-queue", Stage.SUBMIT, "PUT", uri("/video-translator/api/v1/projects/spaces/" + space + "/queue"), auth(), null);
        if (!answer.ok()) {
            throw PersoErrors.failure("init-queue", Stage.SUBMIT, answer);
        }
        queuesReady.add(space);
        ledger.recordDone(job.id(), OP_QUEUE, scope, Long.toString(space), answer.raw());
        ledger.event(job.id(), Stage.SUBMIT, "Perso translation queue of space " + space + " initialised");
    }

    private void adopt(Job job, List<JsonNode> projects) {
        JobSpec spec = jobData.spec(job);
        List<String> refs = new ArrayList<>();
        for (JsonNode p : projects) {
            String code = p.path("targetLanguage").path("code").asText(null);
            String lang = spec.targetLanguages().stream()
                    .filter(l -> PersoLanguages.toPerso(l).map(c -> c.equalsIgnoreCase(code)).orElse(false))
                    .findFirst().orElse(null);
            if (lang == null) {
                LOG.warnf("Job %s: Perso project %s is in %s, which the job did not ask for; ignored", job.id(), p.path("seq").asText(), code);
                continue;
            }
            String seq = p.path("seq").asText();
            ledger.upsertTarget(job.id(), lang, seq, TargetState.RUNNING, null);
            refs.add(seq);
        }
        for (JobTarget t : ledger.targets(job.id())) {
            if (t.providerRef() == null) {
                ledger.upsertTarget(job.id(), t.language(), null, TargetState.FAILED, "Perso created no project for " + t.language());
            }
        }
        ledger.setProviderRef(job.id(), String.join(",", refs), null);
        ledger.recordDone(job.id(), OP_TRANSLATE, "job", String.join(",", refs), null);
    }

    /** Projects of this job in the space's list (newest first), matched by the job id in the title. */
    private List<JsonNode> projectsOf(Job job, long space) {
        String role = jsonField(ledger.call(job.id(), OP_SPACE, "job").map(ProviderCall::detail).orElse(null), "memberRole");
        List<JsonNode> found = new ArrayList<>();
        int offset = 0;
        for (int page = 0; page < 5; page++) {
            Answer answer = http.call(ID, "list-projects", Stage.SUBMIT, "GET", uri("/video-translator/api/v1/projects/spaces/" + space
                    + "?memberRole=" + enc(role == null ? "space_owner" : role) + "&size=50&offset=" + offset + "&sortDirection=desc"), auth(), null);
            if (!answer.ok()) {
                throw PersoErrors.failure("list-projects", Stage.SUBMIT, answer);
            }
            JsonNode result = answer.body().path("result");
            result.path("content").forEach(p -> {
                if (p.path("title").asText("").contains(job.id())) {
                    found.add(p);
                }
            });
            if (!result.path("hasNext").asBoolean(false)) {
                break;
            }
            offset = result.path("nextVtOffset").asInt(offset + 50);
        }
        return found;
    }

    private JsonNode project(long projectSeq, long space) {
        Answer answer = http.call(ID, "get-project", Stage.SUBMIT, "GET",
                uri("/video-translator/api/v1/projects/" + projectSeq + "/spaces/" + space), auth(), null);
        if (!answer.ok()) {
            throw PersoErrors.failure("get-project", Stage.SUBMIT, answer);
        }
        return answer.body().path("result");
    }

    // ------------------------------------------------------------------ follow

    public PollOutcome status(Job job) {
        long space = spaceSeq(job);
        Map<String, LanguageStatus> languages = new LinkedHashMap<>();
        StringBuilder summary = new StringBuilder();
        for (JobTarget target : ledger.targets(job.id())) {
            LanguageStatus status = switch (target.state()) {
                case DONE, DELIVERED -> new LanguageStatus(Status.DONE, "completed");
                case FAILED -> new LanguageStatus(Status.FAILED, target.reason() == null ? "failed" : target.reason());
                default -> target.providerRef() == null
                        ? new LanguageStatus(Status.FAILED, "Perso created no project for " + target.language())
                        : progress(target, space);
            };
            languages.put(target.language(), status);
            summary.append(summary.length() == 0 ? "" : ", ").append(target.language()).append(": ").append(status.detail());
        }
        return new PollOutcome(languages, summary.toString());
    }

    private LanguageStatus progress(JobTarget target, long space) {
        Answer answer = http.call(ID, "progress", Stage.POLL, "GET",
                uri("/video-translator/api/v1/projects/" + target.providerRef() + "/space/" + space + "/progress"), auth(), null);
        if (!answer.ok()) {
            String code = PersoErrors.code(answer).orElse(null);
            if (code != null && PersoErrors.PROJECT_LOST.contains(code)) {
                return new LanguageStatus(Status.FAILED, PersoErrors.describe(code, code) + " (project " + target.providerRef() + ")");
            }
            throw PersoErrors.failure("progress", Stage.POLL, answer);
        }
        JsonNode r = answer.body().path("result");
        return interpret(r.path("progressReason").asText(""), r.path("hasFailed").asBoolean(false), r.path("progress").asInt(-1),
                r.hasNonNull("expectedRemainingTimeMinutes") ? r.get("expectedRemainingTimeMinutes").asInt() : null);
    }

    /** Every documented progressReason; an undocumented one keeps the project running (and is logged). */
    static LanguageStatus interpret(String reason, boolean hasFailed, int progress, Integer remainingMinutes) {
        if (hasFailed || reason.equalsIgnoreCase("Failed")) {
            return new LanguageStatus(Status.FAILED, "Perso failed the project"
                    + (reason.isBlank() || reason.equalsIgnoreCase("Failed") ? "" : " during " + reason)
                    + (progress >= 0 ? " at " + progress + "%" : ""));
        }
        String what = switch (reason) {
            case "Completed" -> null;
            case "Enqueue Pending" -> "waiting in Perso's queue";
            case "Slow Mode Pending" -> "waiting in Perso's slow (GREEN) lane";
            case "Uploading" -> "Perso is taking in the media";
            case "Transcribing" -> "transcribing";
            case "Translating" -> "translating";
            case "Generating Voice" -> "generating the dubbed voice";
            case "Analyzing Lip Sync" -> "analysing lip sync";
            case "Applying Lip Sync" -> "applying lip sync";
            default -> {
                LOG.warnf("Perso answered an undocumented progressReason '%s'; treating it as still running", reason);
                yield "Perso status '" + reason + "'";
            }
        };
        if (what == null) {
            return new LanguageStatus(Status.DONE, "completed");
        }
        return new LanguageStatus(Status.RUNNING, what + (progress >= 0 ? " (" + progress + "%" : "")
                + (remainingMinutes != null && progress >= 0 ? ", about " + remainingMinutes + " min left)" : progress >= 0 ? ")" : ""));
    }

    // ------------------------------------------------------------------ outputs

    public List<OutputLink> outputs(Job job) {
        long space = spaceSeq(job);
        JobSpec spec = jobData.spec(job);
        String sourceLang = spec.sourceLanguage() == null ? "original" : spec.sourceLanguage();
        List<OutputLink> links = new ArrayList<>();
        boolean sourceTaken = false;
        for (JobTarget target : ledger.targets(job.id())) {
            if (target.state() != TargetState.DONE && target.state() != TargetState.DELIVERED || target.providerRef() == null) {
                continue;
            }
            Answer info = http.call(ID, "download-info", Stage.DOWNLOAD, "GET",
                    uri("/video-translator/api/v1/projects/" + target.providerRef() + "/spaces/" + space + "/download-info"), auth(), null);
            if (!info.ok()) {
                throw PersoErrors.failure("download-info", Stage.DOWNLOAD, info);
            }
            JsonNode flags = info.body().has("result") && info.body().get("result").isObject() ? info.body().get("result") : info.body();
            boolean takeSource = !sourceTaken;
            for (OutputKind kind : OUTPUT_KINDS) {
                if (!flags.path(kind.flag()).asBoolean(false) || kind.sourceSide() && !takeSource) {
                    continue;
                }
                URI url = downloadLink(target.providerRef(), space, kind.target());
                if (url == null) {
                    LOG.warnf("Job %s: Perso offers %s of project %s but gave no link for it", job.id(), kind.target(), target.providerRef());
                    continue;
                }
                String language = kind.sourceSide() ? sourceLang : target.language();
                String ext = Optional.ofNullable(extensionOf(url)).orElse(kind.extension());
                links.add(new OutputLink(language, kind.target(), url, job.sourceStem() + "." + language + kind.suffix() + "." + ext,
                        target.providerRef(), Map.of()));
            }
            sourceTaken = true;
        }
        return links;
    }

    @Override
    public OutputLink refresh(Job job, OutputLink expired) {
        URI fresh = downloadLink(expired.providerRef(), spaceSeq(job), expired.type());
        if (fresh == null) {
            throw new ProviderException(ID, Kind.REJECTED, Stage.DOWNLOAD, 200,
                    "Perso no longer offers the " + expired.type() + " output of project " + expired.providerRef(), null);
        }
        return expired.withUrl(fresh);
    }

    /** GET download?target=… → the one link in the answer that belongs to the target (relative paths resolved). */
    private URI downloadLink(String projectSeq, long space, String target) {
        Answer answer = http.call(ID, "download", Stage.DOWNLOAD, "GET", uri("/video-translator/api/v1/projects/" + projectSeq
                + "/spaces/" + space + "/download?target=" + enc(target)), auth(), null);
        if (!answer.ok()) {
            throw PersoErrors.failure("download", Stage.DOWNLOAD, answer);
        }
        JsonNode r = answer.body().path("result");
        String preferred = switch (target) {
            case "video", "dubbingVideo", "lipSyncVideo" -> text(r.path("videoFile"), "videoDownloadLink");
            case "voiceAudio", "originalVoiceAudio" -> text(r.path("audioFile"), "voiceAudioDownloadLink");
            case "backgroundAudio" -> text(r.path("audioFile"), "backgroundAudioDownloadLink");
            case "voicewithBackgroundAudio", "translatedAudio" -> text(r.path("audioFile"), "voiceWithBackgroundAudioDownloadLink");
            case "originalSubtitle" -> text(r.path("srtFile"), "originalSubtitleDownloadLink");
            case "translatedSubtitle" -> text(r.path("srtFile"), "translatedSubtitleDownloadLink");
            default -> text(r, "zippedFileDownloadLink");
        };
        if (preferred == null) {
            // Any single link in the answer is the one asked for.
            List<String> all = new ArrayList<>();
            collectLinks(r, all);
            preferred = all.size() == 1 ? all.get(0) : null;
        }
        return preferred == null || preferred.isBlank() ? null : resolveMedia(preferred);
    }

    private static void collectLinks(JsonNode node, List<String> out) {
        node.fields().forEachRemaining(e -> {
            if (e.getValue().isObject()) {
                collectLinks(e.getValue(), out);
            } else if (e.getValue().isTextual() && e.getKey().endsWith("Link") && !e.getValue().asText().isBlank()) {
                out.add(e.getValue().asText());
            }
        });
    }

    /** Relative /perso-storage/... paths resolve against the media base URL, not the API base (doc rule 5). */
    URI resolveMedia(String link) {
        if (link.startsWith("http://") || link.startsWith("https://")) {
            return URI.create(link);
        }
        String base = cfg().mediaBaseUrl();
        base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        return URI.create(base + (link.startsWith("/") ? link : "/" + link));
    }

    // ------------------------------------------------------------------ plumbing

    private long spaceSeq(Job job) {
        return Long.parseLong(ledger.call(job.id(), OP_SPACE, "job").filter(ProviderCall::done)
                .orElseThrow(() -> new IllegalStateException("no Perso space resolved for job " + job.id())).providerRef());
    }

    private Map<String, String> auth() {
        return Map.of("XP-API-KEY", cfg().apiKey().orElse(""));
    }

    private URI uri(String path) {
        String base = cfg().baseUrl();
        return URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) + path : base + path);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

}
