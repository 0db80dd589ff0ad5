package io.dubhub.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.job.Job;
import io.dubhub.job.JobSpec;
import io.dubhub.media.MediaInfo;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON columns of a job (spec, media) to and from their Java shapes, in one place. */
@ApplicationScoped
public class JobData {

    @Inject
    ObjectMapper json;

    public String specJson(JobSpec spec) {
        return json.valueToTree(spec).toString();
    }

    public JobSpec spec(Job job) {
        try {
            JsonNode n = json.readTree(job.specJson());
            List<String> targets = new ArrayList<>();
            n.path("targetLanguages").forEach(t -> targets.add(t.asText()));
            @SuppressWarnings("unchecked")
            Map<String, Object> options = n.hasNonNull("options") ? json.convertValue(n.get("options"), LinkedHashMap.class) : Map.of();
            return new JobSpec(text(n, "sourceLanguage"), targets, text(n, "title"), text(n, "description"), options);
        } catch (IOException e) {
            throw new UncheckedIOException("job " + job.id() + " has an unreadable spec", e);
        }
    }

    public String mediaJson(MediaInfo m) {
        ObjectNode n = json.createObjectNode();
        n.put("mimeType", m.mimeType());
        n.put("container", m.container());
        n.put("videoCodec", m.videoCodec());
        n.put("audioCodec", m.audioCodec());
        if (m.duration() != null) {
            n.put("durationSeconds", m.duration().toMillis() / 1000.0);
        }
        if (m.width() != null) {
            n.put("width", m.width());
        }
        if (m.height() != null) {
            n.put("height", m.height());
        }
        n.put("sizeBytes", m.sizeBytes());
        n.put("summary", m.describe());
        return n.toString();
    }

    public MediaInfo media(Job job) {
        if (job.mediaJson() == null) {
            throw new IllegalStateException("job " + job.id() + " has not been probed yet");
        }
        try {
            JsonNode n = json.readTree(job.mediaJson());
            Duration duration = n.hasNonNull("durationSeconds") ? Duration.ofMillis(Math.round(n.get("durationSeconds").asDouble() * 1000)) : null;
            return new MediaInfo(text(n, "mimeType"), text(n, "container"), text(n, "videoCodec"), text(n, "audioCodec"), duration,
                    n.hasNonNull("width") ? n.get("width").asInt() : null, n.hasNonNull("height") ? n.get("height").asInt() : null,
                    n.path("sizeBytes").asLong());
        } catch (IOException e) {
            throw new UncheckedIOException("job " + job.id() + " has unreadable media info", e);
        }
    }

    public JsonNode tree(String text) {
        if (text == null) {
            return null;
        }
        try {
            return json.readTree(text);
        } catch (IOException e) {
            return json.getNodeFactory().textNode(text);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
