// Proves the contracts in Contracts.cs are the seeds' own: serialized the way the
// ASP.NET help page did (formatter, then the help page's pretty-printing), each sample
// is byte for byte the seed's. Run with TZ=UTC for family A and TZ=Asia/Shanghai for
// family B (the zones the original servers ran in: +00:00 and +08:00).
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.Serialization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Applications.Services.Dtos.Charge.RequestDto;
using Applications.WebApi.Common;
using EvCharge.Contracts;
using Newtonsoft.Json;
using Newtonsoft.Json.Converters;
using Newtonsoft.Json.Linq;
using Newtonsoft.Json.Serialization;
using Formatting = Newtonsoft.Json.Formatting;

public static class Samples
{
    static int failures;

    static DateTime Local(string isoWithoutOffset, long extraTicks)
    {
        var at = DateTime.ParseExact(isoWithoutOffset, "yyyy-MM-ddTHH:mm:ss", null);
        return new DateTime(at.Ticks + extraTicks, DateTimeKind.Local);
    }

    static void Check(string name, string expected, string actual)
    {
        if (expected == actual)
        {
            Console.WriteLine("ok   sample " + name);
            return;
        }
        failures++;
        Console.WriteLine("FAIL sample " + name);
        Console.WriteLine("  expected: " + expected);
        Console.WriteLine("  actual:   " + actual);
    }

    static string Seed(string dir, string name)
    {
        return File.ReadAllText(Path.Combine(dir, name)).TrimEnd('\n').Replace("\r\n", "\n");
    }

    static void FamilyA(string dir)
    {
        var sample = new EvChargingInformationReq
        {
            ChargingMode = EvChargingModeEnumReq.Normal,
            SmartModeIsActive = true,
            CarInfoId = "sample string 1",
            CarManufacturer = "sample string 2",
            CarModel = "sample string 3",
            CarGeneration = "sample string 4",
            GrossBatterySize = 1.1m,
            NetBatterySize = 1.1m,
            BatteryLevel = 1.1m,
            FullyChargedBy = Local("2025-05-19T22:44:01", 1571182),
            CustomerId = "sample string 5",
            ContractId = 6,
            GatewayAssetId = 7,
            DeviceAssetId = 8,
        };
        var compact = Serializers.Json(sample, Serializers.FamilyA());
        Check("A request text/html (compact)", Seed(dir, "a_request_html.json"), compact);
        // The seed's text kept the indented sample's words but not its line breaks.
        var indented = Regex.Replace(Serializers.HelpPageJson(compact), @"\s+", " ");
        Check("A request application/json (indented)", Seed(dir, "a_request_json.txt"), indented);
        var back = JsonConvert.DeserializeObject<EvChargingInformationReq>(compact, Serializers.FamilyA());
        Check("A request reads back", compact, Serializers.Json(back, Serializers.FamilyA()));
    }

    static void FamilyB(string dir)
    {
        var at = Local("2025-11-08T18:49:22", 9524191);
        var request = new ChargingOrderRequest
        {
            ChargingDeviceId = new Guid("aa4363ce-a5dd-419a-af97-48dd646223db"),
            CustomerId = new Guid("6672ed4c-bc30-4fac-b59e-c2dc8b20d910"),
            StartTime = at,
            EndTime = at,
            ElectricQuantity = 1m,
            DiscountPrice = 3m,
            Remark = "sample string 4",
            Id = "sample string 5",
        };
        var json = Serializers.Json(request, Serializers.FamilyBRequest());
        Check("B request application/json", Seed(dir, "b_request.json"), Serializers.HelpPageJson(json));
        var xml = Serializers.Xml(request);
        Check("B request application/xml", Seed(dir, "b_request.xml"), Serializers.HelpPageXml(xml));
        var fromXml = Serializers.FromXml<ChargingOrderRequest>(xml);
        Check("B request XML reads back", xml, Serializers.Xml(fromXml));

        var error = new ValidErrors
        {
            Field = "sample string 1",
            ErrorMessages = new List<string> { "sample string 1", "sample string 2" },
        };
        var reply = new ResultMessage
        {
            Status = MStatusCode.Fail,
            Message = "sample string 1",
            Errors = new List<ValidErrors> { error, error },
            Url = "sample string 2",
        };
        var replyJson = Serializers.Json(reply, Serializers.FamilyBReply());
        Check("B reply application/json", Seed(dir, "b_reply.json"), Serializers.HelpPageJson(replyJson));
        var replyXml = Serializers.Xml(reply);
        Check("B reply application/xml", Seed(dir, "b_reply.xml"), Serializers.HelpPageXml(replyXml));
        var fromReply = Serializers.FromXml<ResultMessage>(replyXml);
        Check("B reply XML reads back", replyXml, Serializers.Xml(fromReply));
    }

    public static int Main(string[] args)
    {
        var family = args.Length > 0 ? args[0] : "";
        var dir = args.Length > 1 ? args[1] : "samples";
        if (family == "A") FamilyA(dir);
        else if (family == "B") FamilyB(dir);
        else
        {
            Console.WriteLine("usage: Samples.exe A|B SAMPLES_DIR");
            return 2;
        }
        return failures == 0 ? 0 : 1;
    }
}
