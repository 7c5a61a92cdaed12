package evcli.oracle;

import com.fasterxml.jackson.databind.ObjectMapper;
import software.amazon.event.ruler.Machine;

/**
 * DupNames shows what event-ruler does with an event that repeats a member
 * name through its two entry points (filter/COMPATIBILITY.md,
 * event-duplicate-keys): rulesForJSONEvent(String) reads the event with a
 * streaming parser and counts every occurrence; rulesForJSONEvent(JsonNode),
 * given Jackson's tree, sees only the last. After build.sh:
 *
 *   java -cp "filter/oracle/build/classes:$(cat filter/oracle/build/classpath)" evcli.oracle.DupNames
 */
public final class DupNames {
    public static void main(String[] args) throws Exception {
        String[][] cases = {
            {"{\"a\":[\"x\"]}", "{\"a\":\"x\",\"a\":\"y\"}"},
            {"{\"a\":[\"y\"]}", "{\"a\":\"x\",\"a\":\"y\"}"},
            {"{\"a\":{\"b\":[\"1\"],\"c\":[\"2\"]}}", "{\"a\":{\"b\":\"1\"},\"a\":{\"c\":\"2\"}}"},
        };
        ObjectMapper om = new ObjectMapper();
        for (String[] c : cases) {
            Machine m = new Machine();
            m.addRule("r", c[0]);
            System.out.println(c[0] + " on " + c[1] + ": String " + !m.rulesForJSONEvent(c[1]).isEmpty()
                + ", JsonNode " + !m.rulesForJSONEvent(om.readTree(c[1])).isEmpty());
        }
    }
}
