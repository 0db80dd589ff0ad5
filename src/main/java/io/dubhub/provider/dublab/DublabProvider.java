package io.dubhub.provider.dublab;

import static io.dubhub.provider.ProviderJson.jsonField;
import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.intake.Languages;
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
import io.dubhub.upload.PresignedPutUploader;
import io.dubhub.upload.UploadResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * dublab: one upload, many languages. init-dub-group (init-dub for one language) hands a
 * presigned S3 PUT that must carry exactly the declared fileType; start-dub per file; GET /dubs
 * until externalStatusId 5 (4 = failed); outputs per project. Called step by step from
 * routes/providers/dublab.camel.yaml; every step is safe to run again after a crash.
 */
@ApplicationScoped
@Named("dublab")
public class DublabProvider implements ProviderAdapter {

    public static final String ID = "dublab";
    private static final Logger LOG = Logger.getLogger(DublabProvider.class);

    static final String OP_INIT = "init-dub-group";
    static final String OP_UPLOAD = "upload";
    static final String OP_START = "start-dub";

    /** Output types that are our own upload handed back: not worth a second copy in the sink. */
    private static final List<String> SKIPPED_TYPES = List.of("original", "original_mp4");

    @Inject
    HubConfig config;

    @Inject
    ProviderHttp http;

    @Inject
    PresignedPutUploader uploader;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    ObjectMapper json;

    @Override
    public String id() {
        return ID;
    }

    @Override
    public Map<String, String> endpoints() {
        return Map.of("HUB_PROVIDERS_DUBLAB_BASE_URL", config.providers().dublab().baseUrl());
    }

    @Override
    public Optional<String> missingConfig() {
        return config.providers().dublab().apiKey().filter(k -> !k.isBlank()).isPresent()
                ? Optional.empty() : Optional.of("HUB_PROVIDERS_DUBLAB_API_KEY");
    }

    @Override
    public Duration pollInterval() {
        return config.providers().dublab().pollInterval();
    }

    @Override
    public Duration pollDeadline() {
        return config.providers().dublab().pollDeadline();
    }

    @Override
    public void validate(Job job, JobSpec spec, MediaInfo media) {
        List<String> supported = DublabLanguages.SUPPORTED;
        List<String> bad = new ArrayList<>();
        for (String lang : spec.targetLanguages()) {
            if (DublabLanguages.toDublab(lang).isEmpty()) {
                bad.add(lang);
            }
        }
        if (spec.sourceLanguage() != null && DublabLanguages.toDublab(spec.sourceLanguage()).isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "dublab cannot dub from source language " + spec.sourceLanguage()
                    + "; it supports " + String.join(", ", supported));
        }
        if (!bad.isEmpty()) {
            throw new JobRejectedException(Stage.VALIDATE, "dublab does not offer target language(s) " + String.join(", ", bad)
                    + "; it supports " + String.join(", ", supported));
        }
        if (media.duration() == null) {
            throw new JobRejectedException(Stage.VALIDATE, "dublab needs the video's duration, and it could not be measured from this "
                    + media.describe() + "; convert it to MP4 (H.264/AAC) and drop it again");
        }
        Duration max = config.providers().dublab().maxDuration();
        if (media.duration().compareTo(max) > 0) {
            throw new JobRejectedException(Stage.VALIDATE, "the video is " + human(media.duration()) + " long; dublab takes at most "
                    + human(max) + " per file");
        }
        if (media.sizeBytes() > config.providers().dublab().maxBytes()) {
            throw new JobRejectedException(Stage.VALIDATE, "the file is " + media.sizeBytes() + " bytes; one presigned upload takes at most "
                    + config.providers().dublab().maxBytes() + " bytes");
        }
    }

    /**
     * dublab's doc gives no per-minute rate; its API asks 1 credit per started minute of source
     * per language before it creates or starts a dub (the 402 "need N, have M"), and bills the
     * same against the measured duration on completion. That is the estimate.
     */
    @Override
    public java.util.OptionalDouble estimateCredits(Job job, JobSpec spec, MediaInfo media) {
        if (media.duration() == null) {
            return java.util.OptionalDouble.empty();
        }
        return java.util.OptionalDouble.of((double) startedMinutes(media.duration().toMillis() / 1000.0) * spec.targetLanguages().size());
    }

    static long startedMinutes(double seconds) {
        return (long) Math.ceil(seconds / 60.0);
    }

    static String costArithmetic(Duration duration, int languages) {
        double minutes = duration.toMillis() / 60_000.0;
        long perLanguage = startedMinutes(duration.toMillis() / 1000.0);
        return String.format(Locale.ROOT, "ceil(%.2f min) × %d language(s) = %d", minutes, languages, perLanguage * languages);
    }

    /**
     * GET /me before anything is created: a job that costs more than the account holds fails
     * here with the arithmetic, instead of at init-dub-group or, worse, after the upload.
     */
    public void checkBalance(Job job) {
        if (ledger.call(job.id(), OP_INIT, "job").filter(ProviderCall::done).isPresent()) {
            return; // created before (a resumed submit): the balance was checked then
        }
        JobSpec spec = jobData.spec(job);
        MediaInfo media = jobData.media(job);
        Answer answer = http.call(ID, "me", Stage.SUBMIT, "GET", uri("/me"), auth(), null);
        if (!answer.ok()) {
            throw ProviderHttp.failure(ID, "me", Stage.SUBMIT, answer);
        }
        JsonNode b = answer.body();
        JsonNode balance = b == null ? null : b.hasNonNull("credits") ? b.get("credits") : b.get("balance");
        if (balance == null || !balance.isNumber()) {
            ledger.event(job.id(), Stage.SUBMIT, "dublab GET /me shows no credit balance; not checked before submitting");
            return;
        }
        int languages = spec.targetLanguages().size();
        long need = startedMinutes(media.duration().toMillis() / 1000.0) * languages;
        double has = balance.asDouble();
        String arithmetic = costArithmetic(media.duration(), languages);
        if (need > has) {
            throw new ProviderException(ID, Kind.OUT_OF_CREDITS, Stage.SUBMIT, answer.status(),
                    "dublab: out of credits: this job needs " + arithmetic + " credits (1 per started minute per language), the account has "
                            + balance.asText() + " left; nothing was submitted. Top up, then drop the file again", answer.raw());
        }
        ledger.event(job.id(), Stage.SUBMIT, "dublab credits: " + balance.asText() + " left, this job needs " + arithmetic);
    }

    // ------------------------------------------------------------------ submit, step by step

    /** Creates the dub group once; after a crash with only the intent recorded, finds it by name first. */
    public void createGroup(Job job) {
        if (ledger.call(job.id(), OP_INIT, "job").filter(ProviderCall::done).isPresent()) {
            return;
        }
        JobSpec spec = jobData.spec(job);
        MediaInfo media = jobData.media(job);
        String name = providerName(job);
        if (ledger.call(job.id(), OP_INIT, "job").isPresent()) {
            List<JsonNode> existing = dubsNamed(name);
            if (!existing.isEmpty()) {
                // The group exists but dublab offers no way to fetch its upload URL again. If it was
                // uploaded we can go on with it; otherwise it is abandoned (dublab bills on
                // completion, so a group that never starts costs nothing) and a new one made.
                boolean uploaded = existing.stream().allMatch(d -> d.path("externalStatusId").asInt(1) > 1);
                if (uploaded) {
                    adoptGroup(job, existing, null, null);
                    ledger.recordDone(job.id(), OP_UPLOAD, "job", null, "found uploaded after restart");
                    ledger.event(job.id(), Stage.SUBMIT, "found the dub group created before a restart (" + existing.size()
                            + " dub(s)); not creating it again");
                    return;
                }
                ledger.event(job.id(), Stage.SUBMIT, "a dub group created before a restart was never uploaded and its upload link is lost;"
                        + " leaving it unstarted (dublab bills on completion only) and creating a new one");
            }
        }
        ledger.recordIntent(job.id(), OP_INIT, "job", null);
        List<String> dest = spec.targetLanguages().stream().map(l -> DublabLanguages.toDublab(l).orElseThrow()).toList();
        ObjectNode body = json.createObjectNode();
        body.put("fileType", media.mimeType());
        body.put("name", name);
        body.put("source_lang", spec.sourceLanguage() == null ? "auto" : DublabLanguages.toDublab(spec.sourceLanguage()).orElseThrow());
        body.put("duration", (long) Math.ceil(media.duration().toMillis() / 1000.0));
        boolean single = dest.size() == 1;
        if (single) {
            body.put("dest_lang", dest.get(0));
        } else {
            body.putPOJO("dest_langs", dest);
        }
        String operation = single ? "init-dub" : "init-dub-group";
        Answer answer = http.call(ID, operation, Stage.SUBMIT, "POST", uri("/" + operation), auth(), body);
        if (!answer.ok()) {
            ProviderException failure = ProviderHttp.failure(ID, operation, Stage.SUBMIT, answer);
            if (failure.kind() == Kind.TRANSIENT) {
                // The group may exist even though we got no answer: the next attempt looks it up by name.
                throw new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, answer.status(),
                        "dublab did not confirm " + operation + " (HTTP " + answer.status() + "); will look it up by name before trying again",
                        failure.providerMessage());
            }
            throw failure;
        }
        JsonNode b = answer.body();
        String uploadUrl = text(b, "uploadUrl");
        String projectId = text(b, "projectId");
        if (uploadUrl == null || projectId == null) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.SUBMIT, answer.status(),
                    "dublab's " + operation + " answer has no uploadUrl/projectId", answer.raw());
        }
        List<JsonNode> files = new ArrayList<>();
        if (b.has("files") && b.get("files").isArray()) {
            b.get("files").forEach(files::add);
        } else {
            ObjectNode one = json.createObjectNode();
            one.put("fileId", text(b, "fileId"));
            one.put("language", dest.get(0));
            files.add(one);
        }
        // The project id goes to the ledger before the create is marked done: a crash in between
        // must not leave a finished create without the project its outputs are read from.
        ledger.setProviderRef(job.id(), projectId, null);
        adoptGroup(job, files, uploadUrl, projectId);
        ledger.event(job.id(), Stage.SUBMIT, "dublab " + operation + ": project " + projectId + ", " + files.size() + " dub(s)");
    }

    private void adoptGroup(Job job, List<JsonNode> files, String uploadUrl, String knownProjectId) {
        JobSpec spec = jobData.spec(job);
        String projectId = knownProjectId;
        for (JsonNode f : files) {
            String fileId = f.hasNonNull("fileId") ? f.get("fileId").asText() : text(f, "id");
            String dublabLang = text(f, "language");
            String lang = spec.targetLanguages().stream()
                    .filter(l -> DublabLanguages.toDublab(l).map(d -> d.equalsIgnoreCase(dublabLang)).orElse(false))
                    .findFirst().orElse(dublabLang);
            ledger.upsertTarget(job.id(), lang, fileId, JobTarget.TargetState.PENDING, null);
            if (f.hasNonNull("projectId")) {
                projectId = f.get("projectId").asText();
            }
        }
        ObjectNode detail = json.createObjectNode();
        if (uploadUrl != null) {
            detail.put("uploadUrl", uploadUrl);
        }
        if (projectId != null) {
            ledger.setProviderRef(job.id(), projectId, null);
        }
        ledger.recordDone(job.id(), OP_INIT, "job", projectId, detail.toString());
    }

    /** Streams the source once to the group's presigned URL, Content-Type exactly the declared fileType. */
    public void upload(Job job) {
        if (ledger.call(job.id(), OP_UPLOAD, "job").filter(ProviderCall::done).isPresent()) {
            return;
        }
        ProviderCall init = ledger.call(job.id(), OP_INIT, "job").orElseThrow();
        String uploadUrl = jsonField(init.detail(), "uploadUrl");
        if (uploadUrl == null) {
            throw new IllegalStateException("no upload URL recorded for job " + job.id());
        }
        ledger.recordIntent(job.id(), OP_UPLOAD, "job", null);
        MediaInfo media = jobData.media(job);
        long started = System.nanoTime();
        UploadResult result = uploader.putFile(ID, URI.create(uploadUrl), Path.of(job.sourceLocation()), media.mimeType());
        double seconds = (System.nanoTime() - started) / 1e9;
        ledger.recordDone(job.id(), OP_UPLOAD, "job", result.etag(), null);
        ledger.event(job.id(), Stage.UPLOAD, String.format(Locale.ROOT, "uploaded %d bytes to dublab in %.2f s (%s)",
                result.bytes(), seconds, media.mimeType()));
    }

    /** start-dub for each file not started yet; a 409 or a status past "Uploading" means it already was. */
    public void startDubs(Job job) {
        Map<String, JsonNode> current = null;
        for (JobTarget target : ledger.targets(job.id())) {
            if (ledger.call(job.id(), OP_START, target.language()).filter(ProviderCall::done).isPresent()) {
                continue;
            }
            if (ledger.call(job.id(), OP_START, target.language()).isPresent()) {
                if (current == null) {
                    current = dubsById();
                }
                JsonNode dub = current.get(target.providerRef());
                if (dub != null && dub.path("externalStatusId").asInt(1) > 1) {
                    ledger.recordDone(job.id(), OP_START, target.language(), target.providerRef(), "found started after restart");
                    continue;
                }
            }
            ledger.recordIntent(job.id(), OP_START, target.language(), null);
            ObjectNode body = json.createObjectNode().put("fileId", target.providerRef());
            Answer answer = http.call(ID, OP_START, Stage.SUBMIT, "POST", uri("/start-dub"), auth(), body);
            if (!answer.ok() && answer.status() != 409) {
                throw ProviderHttp.failure(ID, OP_START, Stage.SUBMIT, answer);
            }
            ledger.recordDone(job.id(), OP_START, target.language(), target.providerRef(), answer.status() == 409 ? "already started" : null);
            ledger.upsertTarget(job.id(), target.language(), null, JobTarget.TargetState.RUNNING, null);
            ledger.event(job.id(), Stage.SUBMIT, "dublab start-dub " + target.language() + " (" + target.providerRef() + ")");
        }
    }

    // ------------------------------------------------------------------ follow

    public PollOutcome status(Job job) {
        Map<String, JsonNode> dubs = dubsById();
        Map<String, LanguageStatus> languages = new LinkedHashMap<>();
        StringBuilder summary = new StringBuilder();
        for (JobTarget target : ledger.targets(job.id())) {
            JsonNode dub = dubs.get(target.providerRef());
            if (dub == null) {
                languages.put(target.language(), new LanguageStatus(Status.FAILED,
                        "dublab no longer lists dub " + target.providerRef() + " (deleted on dublab's side?)"));
                continue;
            }
            int status = dub.path("externalStatusId").asInt(0);
            switch (status) {
                case 5 -> languages.put(target.language(), new LanguageStatus(Status.DONE, "completed"));
                case 4 -> {
                    String why = text(dub, "externalErrorMessage");
                    languages.put(target.language(), new LanguageStatus(Status.FAILED,
                            "dublab failed the " + target.language() + " dub: " + (why == null ? "no reason given" : why)));
                }
                default -> languages.put(target.language(), new LanguageStatus(Status.RUNNING, statusName(status)));
            }
            summary.append(summary.length() == 0 ? "" : ", ").append(target.language()).append(": ").append(statusName(status));
        }
        recordCredits(job, dubs, languages);
        return new PollOutcome(languages, summary.toString());
    }

    /**
     * Once every language ended, what dublab billed: 1 credit per started minute of each
     * completed dub's measuredDuration (the doc: billing on completion against the measured
     * duration); failed dubs cost nothing. Goes to the manifest and the spend guard.
     */
    private void recordCredits(Job job, Map<String, JsonNode> dubs, Map<String, LanguageStatus> languages) {
        if (languages.values().stream().anyMatch(l -> l.status() == Status.RUNNING)) {
            return;
        }
        long credits = 0;
        for (JobTarget target : ledger.targets(job.id())) {
            JsonNode dub = dubs.get(target.providerRef());
            if (dub != null && dub.path("externalStatusId").asInt(0) == 5) {
                JsonNode measured = dub.get("measuredDuration");
                double seconds = measured != null && measured.isNumber() ? measured.asDouble()
                        : jobData.media(job).duration().toMillis() / 1000.0;
                credits += startedMinutes(seconds);
            }
        }
        if (job.credits() == null || job.credits() != credits) {
            ledger.setCredits(job.id(), credits);
        }
    }

    public List<OutputLink> outputs(Job job) {
        Answer answer = http.call(ID, "project-outputs", Stage.DOWNLOAD, "GET",
                uri("/projects/" + enc(job.providerRef()) + "/outputs"), auth(), null);
        if (!answer.ok()) {
            throw ProviderHttp.failure(ID, "project-outputs", Stage.DOWNLOAD, answer);
        }
        Map<String, String> langByFile = new LinkedHashMap<>();
        Map<String, JobTarget.TargetState> stateByFile = new LinkedHashMap<>();
        for (JobTarget t : ledger.targets(job.id())) {
            langByFile.put(t.providerRef(), t.language());
            stateByFile.put(t.providerRef(), t.state());
        }
        JobSpec spec = jobData.spec(job);
        String sourceLang = spec.sourceLanguage() == null ? "original" : spec.sourceLanguage();
        List<OutputLink> links = new ArrayList<>();
        boolean sourceOutputsTaken = false;
        for (JsonNode dub : list(answer.body(), "dubs")) {
            String fileId = dub.hasNonNull("fileId") ? dub.get("fileId").asText() : text(dub, "id");
            String lang = langByFile.get(fileId);
            if (lang == null || stateByFile.get(fileId) != JobTarget.TargetState.DONE) {
                continue;
            }
            boolean takeSource = !sourceOutputsTaken;
            for (var entry : iterable(dub.path("outputs"))) {
                String type = entry.getKey();
                if (SKIPPED_TYPES.contains(type)) {
                    continue;
                }
                boolean sourceSide = type.startsWith("original");
                if (sourceSide && !takeSource) {
                    continue;
                }
                URI url = linkOf(entry.getValue());
                if (url == null) {
                    continue;
                }
                String language = sourceSide ? sourceLang : lang;
                links.add(new OutputLink(language, type, url, DublabOutputs.fileName(job.sourceStem(), language, type, url),
                        fileId, Map.of()));
            }
            sourceOutputsTaken = sourceOutputsTaken || takeSource;
        }
        return links;
    }

    @Override
    public OutputLink refresh(Job job, OutputLink expired) {
        Answer answer = http.call(ID, "dub-outputs", Stage.DOWNLOAD, "GET",
                uri("/dubs/" + enc(expired.providerRef()) + "/outputs"), auth(), null);
        if (!answer.ok()) {
            throw ProviderHttp.failure(ID, "dub-outputs", Stage.DOWNLOAD, answer);
        }
        JsonNode link = answer.body().path("outputs").path(expired.type());
        URI fresh = linkOf(link);
        if (fresh == null) {
            throw new ProviderException(ID, Kind.REJECTED, Stage.DOWNLOAD, answer.status(),
                    "dublab no longer offers the " + expired.type() + " output of dub " + expired.providerRef(), answer.raw());
        }
        return expired.withUrl(fresh);
    }

    /** The provider-side name carries our job id, so a lost answer is found again by name. */
    static String providerName(Job job) {
        String stem = job.sourceStem();
        String ext = job.sourceName().length() > stem.length() ? job.sourceName().substring(stem.length()) : "";
        return stem + " [" + job.id() + "]" + ext;
    }

    // ------------------------------------------------------------------ plumbing

    private List<JsonNode> dubsNamed(String name) {
        return allDubs().stream().filter(d -> name.equals(text(d, "name"))).toList();
    }

    private Map<String, JsonNode> dubsById() {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode d : allDubs()) {
            String id = d.hasNonNull("fileId") ? d.get("fileId").asText() : text(d, "id");
            if (id != null) {
                out.put(id, d);
            }
        }
        return out;
    }

    /** GET /dubs answers a bare array or {"dubs": [...]} depending on version: accept both. */
    private List<JsonNode> allDubs() {
        Answer answer = http.call(ID, "list-dubs", Stage.POLL, "GET", uri("/dubs"), auth(), null);
        if (!answer.ok()) {
            throw ProviderHttp.failure(ID, "list-dubs", Stage.POLL, answer);
        }
        return list(answer.body(), "dubs");
    }

    private static List<JsonNode> list(JsonNode body, String field) {
        List<JsonNode> out = new ArrayList<>();
        JsonNode arr = body == null ? null : body.isArray() ? body : body.get(field);
        if (arr != null && arr.isArray()) {
            arr.forEach(out::add);
        }
        return out;
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        if (node != null && node.isObject()) {
            node.fields().forEachRemaining(out::add);
        }
        return out;
    }

    /** downloadUrl forces a download; url is the inline one. Either is presigned. */
    private static URI linkOf(JsonNode output) {
        if (output == null) {
            return null;
        }
        if (output.isTextual()) {
            return URI.create(output.asText());
        }
        String u = text(output, "downloadUrl");
        if (u == null) {
            u = text(output, "url");
        }
        return u == null ? null : URI.create(u);
    }

    private static String statusName(int id) {
        return switch (id) {
            case 1 -> "uploading";
            case 2 -> "in queue";
            case 3 -> "processing";
            case 4 -> "failed";
            case 5 -> "completed";
            default -> "status " + id;
        };
    }

    private Map<String, String> auth() {
        return Map.of("apikey", config.providers().dublab().apiKey().orElse(""));
    }

    private URI uri(String path) {
        String base = config.providers().dublab().baseUrl();
        return URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) + path : base + path);
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String human(Duration d) {
        long s = d.toSeconds();
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60);
    }
}
