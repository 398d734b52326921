/*
 * mq_vectors.h — packets captured from real MQTT clients, for the codec
 * tests (every one must decode, and re-encode to the same fields) and as
 * fuzz seeds (fuzz/corpus/mqtt/client-*).
 *
 * Captured on 127.0.0.1 with a throwaway recorder that answered each
 * CONNECT, SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH with canned success
 * acknowledgements so the clients went on.  Clients: Debian's
 * mosquitto-clients (mosquitto_pub, mosquitto_sub) and Debian's
 * python3-paho-mqtt 1.6.1 (script below).  Each entry names the command
 * line that produced it (host and port omitted).
 *
 * pahocap.py PORT V: paho.mqtt.client.Client(client_id="paho-V") with a
 * will ("paho/will", "bye", QoS 2); MQTT 5 adds CONNECT properties
 * Session Expiry Interval 3600 and Request Problem Information 1 with
 * clean_start False; SUBSCRIBE paho/a (QoS 1, No Local, Retain As
 * Published, Retain Handling 1) and paho/+/b (QoS 2, Retain Handling 2)
 * with Subscription Identifier 7; PUBLISH paho/x QoS 2 retained with
 * Message Expiry Interval 30, two User Properties, Response Topic,
 * Correlation Data 00 01 02 and Topic Alias 1 (3.1.1: QoS 1, retained);
 * UNSUBSCRIBE both; DISCONNECT.
 */
typedef struct mq_vector {
    int version;
    const char *hex;
    const char *source;
} mq_vector;

static const mq_vector client_vectors[] = {
    {3, "101800064d51497364700302003c000a736c2d6d717474763331",
     "mosquitto_pub -V mqttv31 -q 0 -i sl-mqttv31 -t sluice/test -m hello-q0"},
    {3, "3015000b736c756963652f7465737468656c6c6f2d7130",
     "mosquitto_pub -V mqttv31 -q 0 -i sl-mqttv31 -t sluice/test -m hello-q0"},
    {3, "e000",
     "mosquitto_pub -V mqttv31 -q 0 -i sl-mqttv31 -t sluice/test -m hello-q0"},
    {3, "3217000b736c756963652f74657374000168656c6c6f2d7131",
     "mosquitto_pub -V mqttv31 -q 1 -i sl-mqttv31 -t sluice/test -m hello-q1"},
    {3, "3417000b736c756963652f74657374000168656c6c6f2d7132",
     "mosquitto_pub -V mqttv31 -q 2 -i sl-mqttv31 -t sluice/test -m hello-q2"},
    {3, "62020001",
     "mosquitto_pub -V mqttv31 -q 2 -i sl-mqttv31 -t sluice/test -m hello-q2"},
    {4, "101700044d5154540402003c000b736c2d6d71747476333131",
     "mosquitto_pub -V mqttv311 -q 0 -i sl-mqttv311 -t sluice/test -m "
     "hello-q0"},
    {4, "3015000b736c756963652f7465737468656c6c6f2d7130",
     "mosquitto_pub -V mqttv311 -q 0 -i sl-mqttv311 -t sluice/test -m "
     "hello-q0"},
    {4, "e000",
     "mosquitto_pub -V mqttv311 -q 0 -i sl-mqttv311 -t sluice/test -m "
     "hello-q0"},
    {4, "3217000b736c756963652f74657374000168656c6c6f2d7131",
     "mosquitto_pub -V mqttv311 -q 1 -i sl-mqttv311 -t sluice/test -m "
     "hello-q1"},
    {4, "3417000b736c756963652f74657374000168656c6c6f2d7132",
     "mosquitto_pub -V mqttv311 -q 2 -i sl-mqttv311 -t sluice/test -m "
     "hello-q2"},
    {4, "62020001",
     "mosquitto_pub -V mqttv311 -q 2 -i sl-mqttv311 -t sluice/test -m "
     "hello-q2"},
    {5, "101900044d5154540502003c032100140009736c2d6d7174747635",
     "mosquitto_pub -V mqttv5 -q 0 -i sl-mqttv5 -t sluice/test -m hello-q0"},
    {5, "3016000b736c756963652f746573740068656c6c6f2d7130",
     "mosquitto_pub -V mqttv5 -q 0 -i sl-mqttv5 -t sluice/test -m hello-q0"},
    {5, "e000",
     "mosquitto_pub -V mqttv5 -q 0 -i sl-mqttv5 -t sluice/test -m hello-q0"},
    {5, "3218000b736c756963652f7465737400010068656c6c6f2d7131",
     "mosquitto_pub -V mqttv5 -q 1 -i sl-mqttv5 -t sluice/test -m hello-q1"},
    {5, "3418000b736c756963652f7465737400010068656c6c6f2d7132",
     "mosquitto_pub -V mqttv5 -q 2 -i sl-mqttv5 -t sluice/test -m hello-q2"},
    {5, "62020001",
     "mosquitto_pub -V mqttv5 -q 2 -i sl-mqttv5 -t sluice/test -m hello-q2"},
    {5,
     "106100044d51545405ee003c17110000012c21000a27000100002200052600016b0001760"
     "008736c2d70726f707312180000000503000a746578742f706c61696e000b736c75696365"
     "2f77696c6c0004676f6e650005616c6963650006736563726574",
     "mosquitto_pub -V mqttv5 -q 1 -t sluice/props -m {\"t\":21.5} -D publish "
     "user-property unit celsius -D publish message-expiry-interval 60 -D "
     "publish topic-alias 3 -D publish payload-format-indicator 1 -D publish "
     "content-type application/json -D publish response-topic sluice/reply -D "
     "publish correlation-data abc -D connect session-expiry-interval 300 -D "
     "connect receive-maximum 10 -D connect maximum-packet-size 65536 -D "
     "connect topic-alias-maximum 5 -D connect user-property k v -i sl-props "
     "-u alice -P secret --will-topic sluice/will --will-payload gone "
     "--will-qos 1 --will-retain -D will will-delay-interval 5 -D will "
     "content-type text/plain"},
    {5,
     "325d000c736c756963652f70726f7073000142260004756e6974000763656c73697573020"
     "000003c23000301010300106170706c69636174696f6e2f6a736f6e08000c736c75696365"
     "2f7265706c790900036162637b2274223a32312e357d",
     "mosquitto_pub -V mqttv5 -q 1 -t sluice/props -m {\"t\":21.5} -D publish "
     "user-property unit celsius -D publish message-expiry-interval 60 -D "
     "publish topic-alias 3 -D publish payload-format-indicator 1 -D publish "
     "content-type application/json -D publish response-topic sluice/reply -D "
     "publish correlation-data abc -D connect session-expiry-interval 300 -D "
     "connect receive-maximum 10 -D connect maximum-packet-size 65536 -D "
     "connect topic-alias-maximum 5 -D connect user-property k v -i sl-props "
     "-u alice -P secret --will-topic sluice/will --will-payload gone "
     "--will-qos 1 --will-retain -D will will-delay-interval 5 -D will "
     "content-type text/plain"},
    {3,
     "102200064d514973647003c2003c000b7375622d6d7174747633310003626f6200027077",
     "mosquitto_sub -V mqttv31 -i sub-mqttv31 -q 1 -t sluice/+/temp -t "
     "sluice/# -E -u bob -P pw"},
    {3, "821d0001000d736c756963652f2b2f74656d70010008736c756963652f2301",
     "mosquitto_sub -V mqttv31 -i sub-mqttv31 -q 1 -t sluice/+/temp -t "
     "sluice/# -E -u bob -P pw"},
    {4,
     "102100044d51545404c2003c000c7375622d6d717474763331310003626f6200027077",
     "mosquitto_sub -V mqttv311 -i sub-mqttv311 -q 1 -t sluice/+/temp -t "
     "sluice/# -E -u bob -P pw"},
    {4, "821d0001000d736c756963652f2b2f74656d70010008736c756963652f2301",
     "mosquitto_sub -V mqttv311 -i sub-mqttv311 -q 1 -t sluice/+/temp -t "
     "sluice/# -E -u bob -P pw"},
    {5,
     "102300044d51545405c2003c03210014000a7375622d6d71747476350003626f620002707"
     "7",
     "mosquitto_sub -V mqttv5 -i sub-mqttv5 -q 1 -t sluice/+/temp -t sluice/# "
     "-E -u bob -P pw"},
    {5, "821e000100000d736c756963652f2b2f74656d70010008736c756963652f2301",
     "mosquitto_sub -V mqttv5 -i sub-mqttv5 -q 1 -t sluice/+/temp -t sluice/# "
     "-E -u bob -P pw"},
    {5, "101d00044d5154540500003c08110000007821001400087375622d6f707473",
     "mosquitto_sub -V mqttv5 -i sub-opts -q 2 -t $share/grp/sluice/# -t a/b "
     "-U old/topic -D subscribe subscription-identifier 42 -D subscribe "
     "user-property who me -c -x 120 -E"},
    {5,
     "822b00010c0b2a26000377686f00026d6500132473686172652f6772702f736c756963652"
     "f23020003612f6202",
     "mosquitto_sub -V mqttv5 -i sub-opts -q 2 -t $share/grp/sluice/# -t a/b "
     "-U old/topic -D subscribe subscription-identifier 42 -D subscribe "
     "user-property who me -c -x 120 -E"},
    {5, "a20e00020000096f6c642f746f706963",
     "mosquitto_sub -V mqttv5 -i sub-opts -q 2 -t $share/grp/sluice/# -t a/b "
     "-U old/topic -D subscribe subscription-identifier 42 -D subscribe "
     "user-property who me -c -x 120 -E"},
    {4,
     "102200044d5154540416001e00067061686f2d3400097061686f2f77696c6c0003627965",
     "/usr/bin/python3 pahocap.py PORT 4"},
    {4, "8216000100067061686f2f610100087061686f2f2b2f6202",
     "/usr/bin/python3 pahocap.py PORT 4"},
    {4, "331100067061686f2f7800027061796c6f6164",
     "/usr/bin/python3 pahocap.py PORT 4"},
    {4, "a214000300067061686f2f6100087061686f2f2b2f62",
     "/usr/bin/python3 pahocap.py PORT 4"},
    {5,
     "102b00044d5154540514001e071100000e10170100067061686f2d350000097061686f2f7"
     "7696c6c0003627965",
     "/usr/bin/python3 pahocap.py PORT 5"},
    {5, "82190001020b0700067061686f2f611d00087061686f2f2b2f6222",
     "/usr/bin/python3 pahocap.py PORT 5"},
    {5,
     "353b00067061686f2f78000228020000001e0800097061686f2f726573700900030001022"
     "300012600016100013126000162000132ff0062696e617279",
     "/usr/bin/python3 pahocap.py PORT 5"},
    {5, "62020002", "/usr/bin/python3 pahocap.py PORT 5"},
    {5, "a21500030000067061686f2f6100087061686f2f2b2f62",
     "/usr/bin/python3 pahocap.py PORT 5"},
};
