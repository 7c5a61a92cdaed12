package evcli.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import com.fasterxml.jackson.core.JsonParseException;
import software.amazon.event.ruler.JsonRuleCompiler;
import software.amazon.event.ruler.Machine;

/**
 * Reads NDJSON lines {"pattern": "<pattern text>", "event": "<event text>"} on
 * stdin and writes one NDJSON line per input: {"match": true|false}, or
 * {"error": "...", "phase": "pattern"|"event"}. Pattern and event are strings
 * so that invalid JSON and duplicate keys reach event-ruler as written. Each
 * pair gets a fresh Machine (the default builder, as EventBridge configures
 * none): addRule then rulesForJSONEvent.
 */
public final class OracleDriver {
    public static void main(String[] args) throws Exception {
        ObjectMapper om = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            ObjectNode res = om.createObjectNode();
            try {
                JsonNode req = om.readTree(line);
                if (req.has("id")) {
                    res.set("id", req.get("id"));
                }
                String pattern = req.get("pattern").asText();
                String event = req.get("event").asText();
                Machine m = new Machine();
                try {
                    JsonRuleCompiler.compile(pattern);
                } catch (JsonParseException e) {
                    // GenericMachine.addRule retries such a pattern with the legacy RuleCompiler
                    res.put("legacy", true);
                    res.put("jsonError", e.getOriginalMessage());
                } catch (Throwable e) {
                    // reported by addRule below
                }
                try {
                    m.addRule("r", pattern);
                } catch (Throwable e) {
                    res.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                    res.put("phase", "pattern");
                    write(om, out, res);
                    continue;
                }
                try {
                    List<String> got = m.rulesForJSONEvent(event);
                    res.put("match", got.contains("r"));
                } catch (Throwable e) {
                    res.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                    res.put("phase", "event");
                }
            } catch (Throwable e) {
                res.put("error", "driver: " + e);
                res.put("phase", "input");
            }
            write(om, out, res);
        }
        out.flush();
    }

    private static void write(ObjectMapper om, BufferedWriter out, ObjectNode res) throws Exception {
        out.write(om.writeValueAsString(res));
        out.write('\n');
        if (!"1".equals(System.getenv("ORACLE_BATCH"))) {
            out.flush();
        }
    }
}
