package io.dubhub.provider.speechlab;

import static io.dubhub.provider.ProviderJson.extensionOf;
import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.JobTarget;
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
import io.dubhub.provider.speechlab.SpeechLabMultipartUploader.Part;
import io.dubhub.staging.SourceUrls;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * SpeechLab (shared/providers/speechlab-api-v1.md). Upload path: check-upload-billing →
 * multipart upload (presigned SigV2 part PUTs without Content-Type) → createProjectAndTranscribe
 * with thirdPartyID = our job id. URL path (bucket sources, or option source=url):
 * check-upload-billing → createProjectAndDub with an https link SpeechLab fetches. Then, from the status step, one translation per language once
 * the transcription is COMPLETE and one dub once the translation is COMPLETE; outputs from
 * GET /projects?thirdPartyIDs=…&expand=true. Every create is guarded by a ledger intent and
 * reconciled by looking the project (by thirdPartyID) or the language up, never created twice.
 */
@ApplicationScoped
@Named("speechlab")
public class SpeechLabProvider implements ProviderAdapter {

    public static final String ID = "speechlab";
    private static final Logger LOG = Logger.getLogger(SpeechLabProvider.class);

    static final String OP_BILLING = "check-upload-billing";
    static final String OP_INIT = "initialize-multipart-upload";
    static final String OP_PART = "upload-part";
    static final String OP_FINALIZE = "finalize-multipart-upload";
    static final String OP_PROJECT = "createProjectAndTranscribe";
    static final String OP_PROJECT_FROM_URL = "createProjectAndDub";
    static final String OP_TRANSLATION = "translations";
    static final String OP_DUB = "dubs";

    /** Job options SpeechLab understands (anything else is refused before any spend). */
    static final Set<String> OPTIONS = Set.of("source", "voiceMatchingMode");
    static final Set<String> SOURCES = Set.of("upload", "url");
    /** 'customized' needs a per-speaker configuration the job spec cannot carry. */
    static final Set<String> VOICE_MATCHING_MODES = Set.of("source", "native");

    static final String TOP_UP = "Open the SpeechLab translate UI at https://translate.speechlab.ai, click your avatar in the top-right"
            + " corner and choose Buy more credits; once the balance refreshes, drop the file again";

    @Inject
    HubConfig config;

    @Inject
    ProviderHttp http;

    @Inject
    SpeechLabTokenSource tokens;

    @Inject
    SpeechLabMultipartUploader multipart;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    ObjectMapper json;

    @Inject
    SourceUrls sourceUrls;

    @Override
    public String id() {
        return ID;
    }

    @Override
    public Map<String, String> endpoints() {
        return Map.of("HUB_PROVIDERS_SPEECHLAB_BASE_URL", config.providers().speechlab().baseUrl());
    }

    @Override
    public Optional<String> missingConfig() {
        List<String> missing = new ArrayList<>();
        if (config.providers().speechlab().email().filter(s -> !s.isBlank()).isEmpty()) {
            missing.add("HUB_PROVIDERS_SPEECHLAB_EMAIL");
        }
        if (config.providers().speechlab().password().filter(s -> !s.isBlank()).isEmpty()) {
            missing.add("HUB_PROVIDERS_SPEECHLAB_PASSWORD");
        }
        return missing.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", missing));
    }

    @Override
    public Duration pollInterval() {
        return config.providers().speechlab().pollInterval();
    }

    @Override
    public Duration pollDeadline() {
        return config.providers().speechlab().pollDeadline();
    }

    /**
     * One credit per started minute of source per target language: what check-upload-billing
     * asks per upload (requiredCredits = started minutes) and what each language's dub takes.
     * The doc gives no rate of its own; this matches the billing answers we get.
     */
    @Override
    public java.util.OptionalDouble estimateCredits(Job job, JobSpec spec, MediaInfo media) {
        if (media.duration() == null) {
            return java.util.OptionalDouble.empty();
        }
        long startedMinutes = (media.duration().toMillis() + 59_999) / 60_000;
        return java.util.OptionalDouble.of((double) startedMinutes * spec.targetLanguages().size());
    }

    @Override
    public void validate(Job job, JobSpec spec, MediaInfo media) {
        String supported = String.join(", ", SpeechLabLanguages.supported());
        if (spec.sourceLanguage() == null) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab needs the spoken language of the source (createProjectAndTranscribe"
                    + " has no auto-detection): set sourceLanguage; it supports " + supported);
        }
        if (SpeechLabLanguages.toSpeechLab(spec.sourceLanguage()).isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab cannot transcribe source language " + spec.sourceLanguage()
                    + "; it supports " + supported);
        }
        List<String> bad = new ArrayList<>();
        Map<String, String> byCode = new HashMap<>();
        for (String lang : spec.targetLanguages()) {
            Optional<String> code = SpeechLabLanguages.toSpeechLab(lang);
            if (code.isEmpty()) {
                bad.add(lang);
            } else if (byCode.putIfAbsent(code.get(), lang) != null) {
                throw new JobRejectedException(Stage.VALIDATE, "target languages " + byCode.get(code.get()) + " and " + lang
                        + " are the same SpeechLab language (" + code.get() + "); keep one");
            }
        }
        if (!bad.isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab does not offer target language(s) " + String.join(", ", bad)
                    + "; it supports " + supported);
        }
        validateOptions(job, spec);
        if (media.duration() == null) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab needs the video's duration (billing check and contentDuration),"
                    + " and it could not be measured from this " + media.describe() + "; convert it to MP4 (H.264/AAC) and drop it again");
        }
    }

    private void validateOptions(Job job, JobSpec spec) {
        List<String> unknown = spec.options().keySet().stream().filter(k -> !OPTIONS.contains(k)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab has no option(s) " + String.join(", ", unknown)
                    + "; its options are " + String.join(", ", new java.util.TreeSet<>(OPTIONS)));
        }
        Object source = spec.options().get("source");
        if (source != null && !SOURCES.contains(String.valueOf(source))) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab option source must be 'upload' (multipart upload, then"
                    + " createProjectAndTranscribe) or 'url' (SpeechLab fetches the file: createProjectAndDub), got '" + source + "'");
        }
        Object mode = spec.options().get("voiceMatchingMode");
        if (mode != null && !VOICE_MATCHING_MODES.contains(String.valueOf(mode))) {
            throw new JobRejectedException(Stage.VALIDATE, "SpeechLab option voiceMatchingMode must be 'source' (clone the speaker's voice)"
                    + " or 'native' (a native voice of the target language), got '" + mode + "'");
        }
        if (sourceByUrl(job, spec)) {
            URI url = sourceUrls.forProvider(job, Duration.ofMinutes(1));
            if (!SourceUrls.fetchableByProvider(url)) {
                throw new JobRejectedException(Stage.VALIDATE, "SpeechLab can only fetch a source from an https URL, and this job's source would be"
                        + " served at " + url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort())
                        + (SourceUrls.bucketObject(job).isPresent()
                        ? " (the bucket's endpoint, HUB_S3_ENDPOINT); use an https endpoint or set the option source to 'upload'"
                        : " (HUB_PUBLIC_BASE_URL); serve the hub over https or set the option source to 'upload'"));
            }
        }
    }

    /**
     * Which of SpeechLab's two documented source paths a job takes: the option {@code source}, else
     * 'url' for an object from a watched bucket (SpeechLab reads it through a presigned GET, nothing
     * passes through the hub) and 'upload' for a file from a folder (works without a public hub URL).
     */
    public boolean sourceByUrl(Job job) {
        return sourceByUrl(job, jobData.spec(job));
    }

    private static boolean sourceByUrl(Job job, JobSpec spec) {
        Object source = spec.options().get("source");
        if (source != null) {
            return "url".equals(String.valueOf(source));
        }
        return SourceUrls.bucketObject(job).isPresent();
    }

    private static String voiceMatchingMode(JobSpec spec) {
        Object mode = spec.options().get("voiceMatchingMode");
        return mode == null ? "source" : String.valueOf(mode);
    }

    // ------------------------------------------------------------------ submit, step by step

    /** POST /dubs/check-upload-billing before anything is uploaded: 402 or too few credits stops the job. */
    public void checkBilling(Job job) {
        if (done(job, OP_BILLING, "job") || done(job, OP_FINALIZE, "job") || done(job, OP_PROJECT_FROM_URL, "job")) {
            return;
        }
        MediaInfo media = jobData.media(job);
        double seconds = media.duration().toMillis() / 1000.0;
        ObjectNode body = json.createObjectNode();
        ObjectNode upload = body.putArray("uploads").addObject();
        upload.put("duration", seconds);
        upload.put("filename", job.sourceName());
        Answer answer = api(OP_BILLING, Stage.UPLOAD, "POST", "/dubs/check-upload-billing", body);
        if (answer.status() == 402) {
            throw outOfCredits("upload", OP_BILLING, answer, null);
        }
        if (!answer.ok()) {
            throw failure(OP_BILLING, Stage.UPLOAD, answer);
        }
        JsonNode b = answer.body();
        JsonNode first = b == null ? null : b.path("uploads").path(0);
        Double required = number(first, "requiredCredits");
        if (required == null) {
            required = number(b, "requiredCredits");
        }
        Double available = number(b, "availableCredits");
        if (available == null) {
            available = number(first, "availableCredits");
        }
        if (required != null && available != null && required > available) {
            throw outOfCredits("upload", OP_BILLING, answer, String.format(Locale.ROOT, "needs %s credits, %s available", fmt(required), fmt(available)));
        }
        if (required != null) {
            ledger.setCredits(job.id(), required);
        }
        ledger.recordDone(job.id(), OP_BILLING, "job", null, answer.raw());
        ledger.event(job.id(), Stage.UPLOAD, "SpeechLab billing check passed" + (required == null ? "" : ": " + fmt(required) + " credit(s)")
                + (available == null ? "" : " of " + fmt(available) + " available"));
    }

    /** initialize → presigned part URLs → part PUTs (each recorded) → finalize. Resumes at the first missing part. */
    public void upload(Job job) {
        if (done(job, OP_FINALIZE, "job")) {
            return;
        }
        Path file = Path.of(job.sourceLocation());
        long size = job.sourceSize();
        ObjectNode init = initialized(job, size);
        String fileKey = init.get("fileKey").asText();
        String fileId = init.get("fileId").asText();
        long partSize = init.get("partSize").asLong();
        int count = SpeechLabMultipartUploader.partCount(size, partSize);

        List<Part> before = new ArrayList<>();
        for (int n = 1; n <= count; n++) {
            Optional<ProviderCall> c = ledger.call(job.id(), OP_PART, String.valueOf(n)).filter(ProviderCall::done);
            if (c.isPresent()) {
                before.add(new Part(n, c.get().providerRef(), c.get().detail() == null ? 0 : Long.parseLong(c.get().detail())));
            }
        }
        long started = System.nanoTime();
        if (before.size() < count) {
            Map<Integer, URI> urls = partUrls(fileKey, fileId, count);
            multipart.upload(ID, file, size, partSize, n -> {
                URI u = urls.get(n);
                if (u == null) {
                    throw new ProviderException(ID, Kind.TRANSIENT, Stage.UPLOAD, 0, "SpeechLab gave no presigned URL for part " + n, null);
                }
                return u;
            }, before, part -> ledger.recordDone(job.id(), OP_PART, String.valueOf(part.partNumber()), part.etag(), String.valueOf(part.bytes())));
        }
        double seconds = (System.nanoTime() - started) / 1e9;

        ObjectNode body = json.createObjectNode();
        body.put("fileKey", fileKey);
        body.put("fileId", fileId);
        ArrayNode parts = body.putArray("parts");
        for (int n = 1; n <= count; n++) {
            ProviderCall c = ledger.call(job.id(), OP_PART, String.valueOf(n)).filter(ProviderCall::done).orElseThrow();
            parts.addObject().put("PartNumber", n).put("ETag", c.providerRef());
        }
        ledger.recordIntent(job.id(), OP_FINALIZE, "job", null);
        Answer answer = api(OP_FINALIZE, Stage.UPLOAD, "POST", "/uploads/finalize-multipart-upload", body);
        if (!answer.ok()) {
            throw failure(OP_FINALIZE, Stage.UPLOAD, answer);
        }
        ledger.recordDone(job.id(), OP_FINALIZE, "job", fileKey, null);
        ledger.event(job.id(), Stage.UPLOAD, String.format(Locale.ROOT,
                "uploaded %d bytes to SpeechLab in %d part(s) of %d bytes (%.1f s), no Content-Type; finalized %s",
                size, count, partSize, seconds, fileKey));
    }

    private ObjectNode initialized(Job job, long size) {
        Optional<ProviderCall> call = ledger.call(job.id(), OP_INIT, "job").filter(ProviderCall::done);
        if (call.isPresent()) {
            return (ObjectNode) jobData.tree(call.get().detail());
        }
        // An initialize whose answer was lost leaves an unfinished multipart upload that costs nothing: start a new one.
        ledger.recordIntent(job.id(), OP_INIT, "job", null);
        Answer answer = api(OP_INIT, Stage.UPLOAD, "POST", "/uploads/initialize-multipart-upload",
                json.createObjectNode().put("name", job.sourceName()));
        if (!answer.ok()) {
            throw failure(OP_INIT, Stage.UPLOAD, answer);
        }
        JsonNode b = answer.body();
        String fileUuid = text(b, "fileUuid");
        String fileKey = text(b, "fileKey");
        String fileId = text(b, "fileId");
        if (fileKey == null || fileId == null) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.UPLOAD, answer.status(),
                    "SpeechLab's initialize-multipart-upload answer has no fileKey/fileId", answer.raw());
        }
        ObjectNode detail = json.createObjectNode();
        detail.put("fileUuid", fileUuid == null ? fileKey : fileUuid);
        detail.put("fileKey", fileKey);
        detail.put("fileId", fileId);
        detail.put("partSize", SpeechLabMultipartUploader.partSize(size));
        ledger.recordDone(job.id(), OP_INIT, "job", fileId, detail.toString());
        return detail;
    }

    private Map<Integer, URI> partUrls(String fileKey, String fileId, int count) {
        ObjectNode body = json.createObjectNode();
        body.put("fileKey", fileKey);
        body.put("fileId", fileId);
        body.put("parts", count);
        String op = "get-multipart-preSigned-urls";
        Answer answer = api(op, Stage.UPLOAD, "POST", "/uploads/get-multipart-preSigned-urls", body);
        if (!answer.ok()) {
            throw failure(op, Stage.UPLOAD, answer);
        }
        Map<Integer, URI> urls = new HashMap<>();
        for (JsonNode p : list(answer.body(), "parts")) {
            String url = text(p, "signedUrl");
            if (url != null && p.hasNonNull("PartNumber")) {
                urls.put(p.get("PartNumber").asInt(), URI.create(url));
            }
        }
        return urls;
    }

    /** createProjectAndTranscribe once; after a lost answer the project is found by thirdPartyID (our job id). */
    public void createProject(Job job) {
        if (done(job, OP_PROJECT, "job")) {
            return;
        }
        Optional<JsonNode> existing = findProject(job, false, Stage.SUBMIT);
        if (existing.isPresent()) {
            adoptProject(job, existing.get(), "found the project created before a restart by thirdPartyID " + job.id() + "; not creating it again");
            return;
        }
        JobSpec spec = jobData.spec(job);
        MediaInfo media = jobData.media(job);
        ObjectNode init = (ObjectNode) jobData.tree(ledger.call(job.id(), OP_INIT, "job").orElseThrow().detail());
        ObjectNode body = json.createObjectNode();
        body.put("name", spec.title() != null && !spec.title().isBlank() ? spec.title() : job.sourceStem());
        body.put("language", SpeechLabLanguages.toSpeechLab(spec.sourceLanguage()).orElseThrow());
        body.put("fileUuid", init.get("fileUuid").asText());
        body.put("fileKey", init.get("fileKey").asText());
        body.put("filenameToReturn", job.sourceName());
        body.put("contentDuration", media.duration().toMillis() / 1000.0);
        body.put("thirdPartyID", job.id());
        body.put("unitType", "unit");
        ledger.recordIntent(job.id(), OP_PROJECT, "job", null);
        Answer answer = api(OP_PROJECT, Stage.SUBMIT, "POST", "/projects/createProjectAndTranscribe", body);
        if (!answer.ok()) {
            ProviderException failure = failure(OP_PROJECT, Stage.SUBMIT, answer);
            if (failure.kind() == Kind.TRANSIENT) {
                throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(),
                        "SpeechLab did not confirm createProjectAndTranscribe (HTTP " + answer.status()
                                + "); will look it up by thirdPartyID before trying again", failure.providerMessage());
            }
            throw failure;
        }
        JsonNode project = answer.body().has("project") ? answer.body().get("project") : answer.body();
        adoptProject(job, project, null);
    }

    /**
     * The URL path: createProjectAndDub with an https link SpeechLab fetches itself (a presigned GET
     * of the bucket object, or the hub's signed /staged/ link), once; SpeechLab's own pipeline then
     * transcribes, translates and dubs the first target language. The other languages get their
     * translation and dub from the status step, as on the upload path.
     */
    public void createProjectFromUrl(Job job) {
        if (done(job, OP_PROJECT_FROM_URL, "job")) {
            return;
        }
        JobSpec spec = jobData.spec(job);
        String firstLanguage = SpeechLabLanguages.toSpeechLab(spec.targetLanguages().get(0)).orElseThrow();
        Optional<JsonNode> existing = findProject(job, false, Stage.SUBMIT);
        if (existing.isPresent()) {
            adoptProject(job, existing.get(), OP_PROJECT_FROM_URL, firstLanguage,
                    "found the project created before a restart by thirdPartyID " + job.id() + "; not creating it again");
            return;
        }
        URI source = sourceUrls.forProvider(job, config.providers().speechlab().sourceUrlValidity());
        if (!SourceUrls.fetchableByProvider(source)) {
            throw new ProviderException(ID, Kind.REJECTED, Stage.SUBMIT, 0, "SpeechLab fetches only https URLs (s3:// and plain http are"
                    + " refused by its worker); this job's source link is " + source.getScheme() + "://" + source.getHost(), null);
        }
        MediaInfo media = jobData.media(job);
        ObjectNode body = json.createObjectNode();
        body.put("name", spec.title() != null && !spec.title().isBlank() ? spec.title() : job.sourceStem());
        body.put("sourceLanguage", SpeechLabLanguages.toSpeechLab(spec.sourceLanguage()).orElseThrow());
        body.put("targetLanguage", firstLanguage);
        body.put("dubAccent", firstLanguage);
        body.put("mediaFileURI", source.toString());
        body.put("voiceMatchingMode", voiceMatchingMode(spec));
        body.put("thirdPartyID", job.id());
        body.put("unitType", "unit");
        body.put("isAudioOnlyFile", !media.hasVideo());
        ledger.recordIntent(job.id(), OP_PROJECT_FROM_URL, "job", null);
        ledger.event(job.id(), Stage.SUBMIT, "SpeechLab fetches the source from " + io.dubhub.http.UrlRedactor.redact(source)
                + " (valid " + config.providers().speechlab().sourceUrlValidity().toHours() + " h)");
        Answer answer = api(OP_PROJECT_FROM_URL, Stage.SUBMIT, "POST", "/projects/createProjectAndDub", body);
        if (!answer.ok()) {
            ProviderException failure = answer.status() == 402 ? outOfCredits("dub", OP_PROJECT_FROM_URL, answer, null)
                    : failure(OP_PROJECT_FROM_URL, Stage.SUBMIT, answer);
            if (failure.kind() == Kind.TRANSIENT) {
                throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(),
                        "SpeechLab did not confirm createProjectAndDub (HTTP " + answer.status()
                                + "); will look it up by thirdPartyID before trying again", failure.providerMessage());
            }
            throw failure;
        }
        JsonNode project = answer.body().has("project") ? answer.body().get("project") : answer.body();
        adoptProject(job, project, OP_PROJECT_FROM_URL, firstLanguage, null);
    }

    private void adoptProject(Job job, JsonNode project, String event) {
        adoptProject(job, project, OP_PROJECT, null, event);
    }

    /** {@code pipelineLanguage}: the language whose translation and dub SpeechLab's own pipeline creates (URL path). */
    private void adoptProject(Job job, JsonNode project, String op, String pipelineLanguage, String event) {
        String projectId = id(project);
        String contentId = id(project.path("content"));
        String transcriptionId = id(project.path("transcription"));
        if (projectId == null || contentId == null) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.SUBMIT, 0,
                    "SpeechLab's project answer has no project id or content id", project.toString());
        }
        ObjectNode data = json.createObjectNode();
        data.put("contentId", contentId);
        data.put("transcriptionId", transcriptionId);
        if (pipelineLanguage != null) {
            data.put("pipelineLanguage", pipelineLanguage);
        }
        ledger.setProviderRef(job.id(), projectId, data.toString());
        ledger.recordDone(job.id(), op, "job", projectId, data.toString());
        ledger.event(job.id(), Stage.SUBMIT, event != null ? event
                : "SpeechLab " + op + ": project " + projectId + " (thirdPartyID " + job.id() + ")");
    }

    // ------------------------------------------------------------------ follow

    /**
     * One look at the project; creates the translation of a language once the transcription is
     * COMPLETE and its dub once the translation is COMPLETE (each guarded by a ledger intent and
     * adopted by language if it already exists), so the step can run again at any point.
     */
    public PollOutcome status(Job job) {
        JsonNode project = project(job);
        JobSpec spec = jobData.spec(job);
        JsonNode transcription = project.path("transcription");
        String tStatus = statusOf(transcription);
        Map<String, LanguageStatus> languages = new LinkedHashMap<>();
        StringBuilder summary = new StringBuilder();
        for (String lang : spec.targetLanguages()) {
            String code = SpeechLabLanguages.toSpeechLab(lang).orElseThrow();
            LanguageStatus ls;
            if ("ERROR".equals(tStatus)) {
                ls = new LanguageStatus(Status.FAILED, "SpeechLab could not transcribe the source: " + reason(transcription));
            } else if (!"COMPLETE".equals(tStatus)) {
                ls = new LanguageStatus(Status.RUNNING, "transcription " + tStatus);
            } else {
                ls = translationAndDub(job, project, lang, code);
            }
            languages.put(lang, ls);
            summary.append(summary.length() == 0 ? "" : ", ").append(lang).append(": ").append(ls.detail());
        }
        return new PollOutcome(languages, summary.toString());
    }

    private LanguageStatus translationAndDub(Job job, JsonNode project, String lang, String code) {
        JsonNode tx = byLanguage(list(project, "translations"), code);
        boolean byPipeline = code.equals(text(jobData.tree(ledger.load(job.id()).providerData()), "pipelineLanguage"));
        if (tx == null && byPipeline) {
            return new LanguageStatus(Status.RUNNING, "translation (started by createProjectAndDub)");
        }
        if (tx == null) {
            tx = create(job, OP_TRANSLATION, lang, "/translations", json.createObjectNode()
                    .put("project", id(project)).put("language", code).put("status", "NOT_STARTED"), "translation");
            return new LanguageStatus(Status.RUNNING, tx == null ? "translation requested" : "translation " + statusOf(tx));
        }
        adopt(job, OP_TRANSLATION, lang, id(tx));
        String txStatus = statusOf(tx);
        if ("ERROR".equals(txStatus)) {
            return new LanguageStatus(Status.FAILED, "SpeechLab could not translate into " + code + ": " + reason(tx));
        }
        if (!"COMPLETE".equals(txStatus)) {
            return new LanguageStatus(Status.RUNNING, "translation " + txStatus);
        }
        List<JsonNode> dubs = list(tx, "dubs");
        if (dubs.isEmpty()) {
            dubs = list(tx, "dub");
        }
        JsonNode dub = byLanguage(dubs, code);
        if (dub == null && byPipeline) {
            return new LanguageStatus(Status.RUNNING, "dub (started by createProjectAndDub)");
        }
        if (dub == null) {
            String contentId = text(jobData.tree(ledger.load(job.id()).providerData()), "contentId");
            dub = create(job, OP_DUB, lang, "/dubs", json.createObjectNode()
                    .put("contentId", contentId).put("translationId", id(tx)).put("language", code)
                    .put("status", "NOT_STARTED").put("voiceMatchingMode", voiceMatchingMode(jobData.spec(job))), "dub");
            return new LanguageStatus(Status.RUNNING, dub == null ? "dub requested" : "dub " + statusOf(dub));
        }
        adopt(job, OP_DUB, lang, id(dub));
        String dStatus = statusOf(dub);
        String merge = text(dub, "mergeStatus");
        if ("ERROR".equals(dStatus) || "ERROR".equals(merge)) {
            return new LanguageStatus(Status.FAILED, "SpeechLab failed the " + code + " dub: " + reason(dub));
        }
        if ("COMPLETE".equals(dStatus) && (merge == null || "COMPLETE".equals(merge))) {
            return new LanguageStatus(Status.DONE, "dub COMPLETE");
        }
        return new LanguageStatus(Status.RUNNING, "dub " + dStatus + (merge == null ? "" : ", merge " + merge));
    }

    /** The object exists on the project: make sure the ledger says so (covers an intent whose answer was lost). */
    private void adopt(Job job, String op, String lang, String providerRef) {
        if (providerRef == null || done(job, op, lang)) {
            return;
        }
        boolean hadIntent = ledger.call(job.id(), op, lang).isPresent();
        ledger.recordDone(job.id(), op, lang, providerRef, hadIntent ? "found on the project after a lost answer" : "found on the project");
        if (op.equals(OP_DUB)) {
            ledger.upsertTarget(job.id(), lang, providerRef, JobTarget.TargetState.RUNNING, null);
        }
        if (hadIntent) {
            ledger.event(job.id(), Stage.POLL, "SpeechLab " + op + " " + lang + " " + providerRef + " found on the project; not creating it again");
        }
    }

    /** POST a translation or dub; null when its outcome is unknown (the next look finds it by language). */
    private JsonNode create(Job job, String op, String lang, String path, ObjectNode body, String what) {
        ledger.recordIntent(job.id(), op, lang, null);
        Answer answer = api(op, Stage.POLL, "POST", path, body);
        if (answer.status() == 409) {
            ledger.event(job.id(), Stage.POLL, "SpeechLab says the " + what + " for " + lang + " already exists (409); adopting it on the next look");
            return null;
        }
        if (answer.status() == 402) {
            throw outOfCredits(what, op, answer, null);
        }
        if (!answer.ok()) {
            ProviderException failure = failure(op, Stage.POLL, answer);
            if (failure.kind() == Kind.TRANSIENT) {
                throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.POLL, answer.status(),
                        "SpeechLab did not confirm the " + what + " for " + lang + " (HTTP " + answer.status()
                                + "); will look for it on the project before trying again", failure.providerMessage());
            }
            throw failure;
        }
        JsonNode b = answer.body();
        JsonNode created = b.has("translation") ? b.get("translation") : b.has("dub") && b.get("dub").isObject() ? b.get("dub") : b;
        String id = id(created);
        ledger.recordDone(job.id(), op, lang, id, null);
        if (op.equals(OP_DUB)) {
            ledger.upsertTarget(job.id(), lang, id, JobTarget.TargetState.RUNNING, null);
        }
        ledger.event(job.id(), Stage.POLL, "SpeechLab " + what + " " + lang + " created: " + id);
        return created;
    }

    // ------------------------------------------------------------------ outputs

    public List<OutputLink> outputs(Job job) {
        JsonNode project = findProject(job, true, Stage.DOWNLOAD).orElseThrow(() -> new ProviderException(ID, Kind.REJECTED,
                Stage.DOWNLOAD, 404, "SpeechLab no longer lists the project of thirdPartyID " + job.id() + " (deleted?)", null));
        Set<String> doneLanguages = new LinkedHashSet<>();
        for (JobTarget t : ledger.targets(job.id())) {
            if (t.state() == JobTarget.TargetState.DONE || t.state() == JobTarget.TargetState.DELIVERED) {
                doneLanguages.add(t.language());
            }
        }
        return links(job, project, doneLanguages);
    }

    private List<OutputLink> links(Job job, JsonNode project, Set<String> languages) {
        JobSpec spec = jobData.spec(job);
        List<OutputLink> links = new ArrayList<>();
        for (String lang : spec.targetLanguages()) {
            if (!languages.contains(lang)) {
                continue;
            }
            String code = SpeechLabLanguages.toSpeechLab(lang).orElseThrow();
            JsonNode tx = byLanguage(list(project, "translations"), code);
            if (tx == null) {
                continue;
            }
            Map<String, Integer> seen = new HashMap<>();
            for (JsonNode m : list(tx, "medias")) {
                add(links, seen, job, lang, "translation", m);
            }
            List<JsonNode> dubs = list(tx, "dub");
            if (dubs.isEmpty()) {
                dubs = list(tx, "dubs");
            }
            for (JsonNode dub : dubs) {
                if (!code.equals(text(dub, "language")) && text(dub, "language") != null) {
                    continue;
                }
                for (JsonNode m : list(dub, "medias")) {
                    add(links, seen, job, lang, "dub", m);
                }
            }
        }
        return links;
    }

    private static void add(List<OutputLink> links, Map<String, Integer> seen, Job job, String lang, String kind, JsonNode media) {
        String url = media.isObject() ? text(media, "presignedURL") : null;
        if (url == null) {
            return; // a bare ObjectId (no expand) or a media without a file yet
        }
        URI uri = URI.create(url);
        String format = text(media, "format");
        if (format == null) {
            format = extensionOf(uri);
        }
        format = format == null ? "bin" : format.toLowerCase(Locale.ROOT);
        String type = kind + "." + format;
        int n = seen.merge(type, 1, Integer::sum);
        String suffix = n == 1 ? "" : "-" + n;
        String mediaId = id(media);
        links.add(new OutputLink(lang, type + suffix, uri, job.sourceStem() + "." + lang + suffix + "." + format,
                mediaId, Map.of()));
    }

    /** Expired presigned link: ask expand=true again and take the same output's fresh link. */
    @Override
    public OutputLink refresh(Job job, OutputLink expired) {
        JsonNode project = findProject(job, true, Stage.DOWNLOAD).orElseThrow(() -> new ProviderException(ID, Kind.REJECTED,
                Stage.DOWNLOAD, 404, "SpeechLab no longer lists the project of thirdPartyID " + job.id(), null));
        for (OutputLink fresh : links(job, project, Set.of(expired.language()))) {
            boolean same = expired.providerRef() != null ? expired.providerRef().equals(fresh.providerRef()) : expired.type().equals(fresh.type());
            if (same) {
                return expired.withUrl(fresh.url());
            }
        }
        throw new ProviderException(ID, Kind.REJECTED, Stage.DOWNLOAD, 0,
                "SpeechLab no longer offers the " + expired.type() + " output of " + expired.language(), null);
    }

    // ------------------------------------------------------------------ plumbing

    private JsonNode project(Job job) {
        String projectId = job.providerRef();
        if (projectId == null) {
            return findProject(job, false, Stage.POLL).orElseThrow(() -> new ProviderException(ID, Kind.REJECTED, Stage.POLL, 404,
                    "SpeechLab has no project with thirdPartyID " + job.id(), null));
        }
        Answer answer = api("project", Stage.POLL, "GET", "/projects/" + enc(projectId), null);
        if (answer.status() == 404) {
            throw new ProviderException(ID, Kind.REJECTED, Stage.POLL, 404, "SpeechLab no longer has project " + projectId + " (deleted?)",
                    ProviderHttp.providerMessage(answer));
        }
        if (!answer.ok()) {
            throw failure("project", Stage.POLL, answer);
        }
        return answer.body().has("project") ? answer.body().get("project") : answer.body();
    }

    /** GET /projects?thirdPartyIDs=<job id>[&expand=true]: our project, if SpeechLab has it. */
    Optional<JsonNode> findProject(Job job, boolean expand, Stage stage) {
        String path = "/projects?thirdPartyIDs=" + enc(job.id()) + (expand ? "&expand=true" : "");
        Answer answer = api("projects", stage, "GET", path, null);
        if (!answer.ok()) {
            throw failure("projects", stage, answer);
        }
        for (JsonNode p : list(answer.body(), "results")) {
            if (job.id().equals(text(p, "thirdPartyID"))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** An authorized call: one retry with a renewed token on 401; a 400 about the header is misconfiguration. */
    Answer api(String op, Stage stage, String method, String path, Object body) {
        for (int attempt = 1; ; attempt++) {
            String token = tokens.token();
            Answer answer = http.call(ID, op, stage, method, uri(path), Map.of("Authorization", "Bearer " + token), body);
            if (answer.status() == 401 && attempt == 1) {
                tokens.rejected(token);
                continue;
            }
            if (answer.status() == 401) {
                throw new ProviderException(ID, Kind.MISCONFIGURED, stage, 401,
                        "SpeechLab refused a freshly issued token (HTTP 401) on " + op + ": check the account of HUB_PROVIDERS_SPEECHLAB_EMAIL",
                        ProviderHttp.providerMessage(answer));
            }
            if (answer.status() == 400 && String.valueOf(ProviderHttp.providerMessage(answer)).toLowerCase(Locale.ROOT).contains("authoriz")) {
                throw new ProviderException(ID, Kind.MISCONFIGURED, stage, 400,
                        "SpeechLab says the Authorization header is missing or malformed (HTTP 400 on " + op
                                + "); a proxy may be stripping it, or HUB_PROVIDERS_SPEECHLAB_BASE_URL points elsewhere",
                        ProviderHttp.providerMessage(answer));
            }
            return answer;
        }
    }

    private static ProviderException failure(String op, Stage stage, Answer answer) {
        if (answer.status() == 402) {
            return outOfCredits(stage == Stage.UPLOAD ? "upload" : "dub", op, answer, null);
        }
        return ProviderHttp.failure(ID, op, stage, answer);
    }

    private static ProviderException outOfCredits(String step, String op, Answer answer, String detail) {
        return new ProviderException(ID, Kind.OUT_OF_CREDITS, "upload".equals(step) ? Stage.UPLOAD : Stage.POLL, answer.status(),
                "SpeechLab: out of credits at the " + step + " step (" + op + (answer.status() == 402 ? ", HTTP 402" : "")
                        + (detail == null ? "" : ": " + detail) + "). " + TOP_UP,
                ProviderHttp.providerMessage(answer));
    }

    private boolean done(Job job, String op, String scope) {
        return ledger.call(job.id(), op, scope).filter(ProviderCall::done).isPresent();
    }

    private static JsonNode byLanguage(List<JsonNode> items, String code) {
        for (JsonNode n : items) {
            if (code.equalsIgnoreCase(text(n, "language"))) {
                return n;
            }
        }
        return null;
    }

    private static String statusOf(JsonNode n) {
        String s = text(n, "status");
        return s == null ? "NOT_STARTED" : s.toUpperCase(Locale.ROOT);
    }

    private static String reason(JsonNode n) {
        for (String f : new String[]{"errorMessage", "error", "message", "statusMessage"}) {
            String s = text(n, f);
            if (s != null) {
                return s;
            }
        }
        return "no reason given";
    }

    private static String id(JsonNode n) {
        String id = text(n, "id");
        return id != null ? id : text(n, "_id");
    }

    private static List<JsonNode> list(JsonNode body, String field) {
        List<JsonNode> out = new ArrayList<>();
        JsonNode arr = body == null ? null : body.isArray() ? body : body.get(field);
        if (arr != null && arr.isArray()) {
            arr.forEach(out::add);
        }
        return out;
    }

    private static Double number(JsonNode node, String field) {
        JsonNode n = node == null ? null : node.get(field);
        return n == null || !n.isNumber() ? null : n.asDouble();
    }

    private static String fmt(double d) {
        return d % 1 == 0 ? String.valueOf((long) d) : String.valueOf(d);
    }

    private URI uri(String path) {
        String base = config.providers().speechlab().baseUrl();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
