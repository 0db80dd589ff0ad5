package io.dubhub.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * What every provider simulator answers with, in one place. Each simulator keeps its own error
 * body (dublab {"error"}, SpeechLab {"code","message"}, Perso {"status","code","message"}), because
 * those shapes are part of what the simulators must get right.
 */
final class SimulatorHttp {

    private SimulatorHttp() {
    }

    /** One JSON answer: status and a body Jackson can write. */
    record Answer(int status, Object body) {
    }

    static Answer ok(Object body) {
        return new Answer(200, body);
    }

    static void reply(ObjectMapper json, RoutingContext ctx, Answer answer) {
        String text;
        try {
            text = json.writeValueAsString(answer.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ctx.response().setStatusCode(answer.status()).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(text);
    }

    /** An injected outage, persisted with the simulator's state: answer {@code status} the next {@code times} calls. */
    public static class FailNext {
        public int status;
        public int times;

        public FailNext() {
        }

        FailNext(int status, int times) {
            this.status = status;
            this.times = times;
        }
    }
}
