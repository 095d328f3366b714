// A .NET client of a running evcharge, written the way the seeds' existing clients are:
// HttpClient, Json.NET for family A, DataContractSerializer and Json.NET for family B.
// Every reply must deserialize into the seed's own types (Contracts.cs) with the right
// values. Usage: mono Client.exe BASE_URL ADMIN_KEY   (run with TZ=Asia/Shanghai, the
// zone of family B's original clients, so that local DateTimes carry +08:00).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.Serialization;
using System.Text;
using System.Xml;
using Applications.Services.Dtos.Charge.RequestDto;
using Applications.WebApi.Common;
using EvCharge.Contracts;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Formatting = Newtonsoft.Json.Formatting;

// Web API 2's HttpError as a client reads it.
public class HttpError
{
    public string Message { get; set; }
    public string MessageDetail { get; set; }
    public Dictionary<string, string[]> ModelState { get; set; }
}

// What GetOrder answers (family B's read side), for checking stored values.
public class ChargingOrder
{
    public string Id { get; set; }
    public Guid ChargingDeviceId { get; set; }
    public decimal? ElectricQuantity { get; set; }
    public decimal DiscountPrice { get; set; }
    public DateTime StartTime { get; set; }
    public DateTime EndTime { get; set; }
}

public class CheckFailed : Exception
{
    public CheckFailed(string message) : base(message) { }
}

public static class Client
{
    static HttpClient http;
    static string baseUrl;
    static int failures;
    static int passed;

    static readonly Guid CustomerGuid = new Guid("6672ed4c-bc30-4fac-b59e-c2dc8b20d910");
    static readonly Guid DeviceGuid = new Guid("aa4363ce-a5dd-419a-af97-48dd646223db");
    const string Device = "api/customers/1/contracts/6/gateways/7/evchargingdevices/8";
    const string CreateOrder = "api/ChargeOrder/CreateOrder";

    static void Check(string name, Action body)
    {
        try
        {
            body();
            passed++;
            Console.WriteLine("ok   " + name);
        }
        catch (Exception exc)
        {
            failures++;
            var inner = exc is AggregateException ? exc.InnerException : exc;
            Console.WriteLine("FAIL " + name + ": " + inner.Message);
        }
    }

    static void Expect(bool condition, string what)
    {
        if (!condition) throw new CheckFailed(what);
    }

    static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new CheckFailed(what + ": expected " + expected + ", got " + actual);
    }

    static HttpResponseMessage Send(HttpMethod method, string path, string body, string contentType, string accept = null)
    {
        var request = new HttpRequestMessage(method, baseUrl + path);
        if (body != null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType) { CharSet = "utf-8" };
        }
        if (accept != null) request.Headers.Accept.ParseAdd(accept);
        return http.SendAsync(request).Result;
    }

    static string Text(HttpResponseMessage response)
    {
        return response.Content.ReadAsStringAsync().Result;
    }

    static void Status(HttpStatusCode expected, HttpResponseMessage response)
    {
        if (response.StatusCode != expected)
            throw new CheckFailed("HTTP " + (int)response.StatusCode + " (expected " + (int)expected + "): " + Text(response));
    }

    static string MediaType(HttpResponseMessage response)
    {
        return response.Content.Headers.ContentType == null ? "" : response.Content.Headers.ContentType.MediaType;
    }

    static T FromJson<T>(HttpResponseMessage response)
    {
        return JsonConvert.DeserializeObject<T>(Text(response), Serializers.FamilyA());
    }

    static EvChargingInformationReq SeedSampleA()
    {
        return new EvChargingInformationReq
        {
            ChargingMode = EvChargingModeEnumReq.Smart,
            SmartModeIsActive = true,
            CarInfoId = "sample string 1",
            CarManufacturer = "sample string 2",
            CarModel = "sample string 3",
            CarGeneration = "sample string 4",
            GrossBatterySize = 77.5m,
            NetBatterySize = 75m,
            BatteryLevel = 20.5m,
            FullyChargedBy = new DateTime(2025, 5, 19, 22, 44, 1, DateTimeKind.Utc).AddTicks(1571182),
            CustomerId = "sample string 5",
            ContractId = 6,
            GatewayAssetId = 7,
            DeviceAssetId = 8,
        };
    }

    static void Register()
    {
        var steps = new[]
        {
            Tuple.Create("api/customers/1", "{\"Name\":\"dotnet\",\"Id\":\"" + CustomerGuid + "\"}"),
            Tuple.Create("api/customers/1/contracts/6", "{\"Name\":\"c\"}"),
            Tuple.Create("api/customers/1/contracts/6/gateways/7", "{\"Name\":\"g\"}"),
            Tuple.Create(Device, "{\"Name\":\"d\",\"MaxPowerKw\":11,\"Id\":\"" + DeviceGuid + "\"}"),
        };
        foreach (var step in steps)
        {
            var response = Send(HttpMethod.Put, step.Item1, step.Item2, "application/json");
            Expect(response.IsSuccessStatusCode, "PUT " + step.Item1 + ": " + Text(response));
        }
    }

    static void FamilyA()
    {
        Check("A seed sample (Json.NET, text/json) to a trailing-slash URI is created, all fields read back", () =>
        {
            var sent = SeedSampleA();
            var response = Send(HttpMethod.Post, Device + "/", Serializers.Json(sent, Serializers.FamilyA()), "text/json");
            Status(HttpStatusCode.Created, response);
            Equal("text/json", MediaType(response), "reply media type follows the request's");
            var info = FromJson<EvChargingInfo>(response);
            Equal(sent.ChargingMode, info.ChargingMode, "ChargingMode");
            Equal(sent.SmartModeIsActive, info.SmartModeIsActive, "SmartModeIsActive");
            Equal(sent.CarModel, info.CarModel, "CarModel");
            Equal(sent.GrossBatterySize, info.GrossBatterySize, "GrossBatterySize");
            Equal(sent.NetBatterySize, info.NetBatterySize, "NetBatterySize");
            Equal(sent.BatteryLevel, info.BatteryLevel, "BatteryLevel");
            Equal(sent.FullyChargedBy.Value.Ticks, info.FullyChargedBy.Value.ToUniversalTime().Ticks, "FullyChargedBy ticks (7 digits)");
            Equal(sent.CustomerId, info.CustomerId, "CustomerId");
            Equal(8, info.DeviceAssetId, "DeviceAssetId");
            Expect(info.Id != Guid.Empty, "Id is set");
            Expect(response.Headers.Location != null, "Location header");
        });

        Check("A text/html body is accepted and answered as text/html", () =>
        {
            var response = Send(HttpMethod.Post, Device, Serializers.Json(SeedSampleA(), Serializers.FamilyA()), "text/html");
            Status(HttpStatusCode.Created, response);
            Equal("text/html", MediaType(response), "reply media type");
            Equal(EvChargingModeEnumReq.Smart, FromJson<EvChargingInfo>(response).ChargingMode, "ChargingMode");
        });

        Check("A Microsoft date format (\\/Date(ms+0200)\\/) is read as the same instant", () =>
        {
            var settings = Serializers.FamilyA();
            settings.DateFormatHandling = DateFormatHandling.MicrosoftDateFormat;
            var sent = SeedSampleA();
            sent.FullyChargedBy = new DateTime(2025, 5, 19, 22, 44, 1, 157, DateTimeKind.Local);
            var json = Serializers.Json(sent, settings);
            Expect(json.Contains("\\/Date("), "the client wrote a Microsoft date: " + json);
            var response = Send(HttpMethod.Post, Device, json, "application/json");
            Status(HttpStatusCode.Created, response);
            var info = FromJson<EvChargingInfo>(response);
            Equal(sent.FullyChargedBy.Value.ToUniversalTime(), info.FullyChargedBy.Value.ToUniversalTime(), "FullyChargedBy");
        });

        Check("A value types not sent come back as .NET defaults (ChargingMode 0, SmartModeIsActive false)", () =>
        {
            var response = Send(HttpMethod.Post, Device, "{\"CarModel\":\"bare\"}", "application/json");
            Status(HttpStatusCode.Created, response);
            // Json.NET throws on null for a non-nullable enum: this is the check.
            var info = FromJson<EvChargingInfo>(response);
            Equal(EvChargingModeEnumReq.Normal, info.ChargingMode, "ChargingMode");
            Equal(false, info.SmartModeIsActive, "SmartModeIsActive");
            Equal(null, info.FullyChargedBy, "FullyChargedBy");
        });

        Check("A Json.NET leniencies: comments, single quotes, trailing comma, \"\" for a date", () =>
        {
            var body = "{ // a hand-written body\n 'CarModel': 'ID.3', /* kWh */ \"BatteryLevel\": 40, \"FullyChargedBy\": \"\", }";
            var response = Send(HttpMethod.Post, Device, body, "application/json");
            Status(HttpStatusCode.Created, response);
            var info = FromJson<EvChargingInfo>(response);
            Equal("ID.3", info.CarModel, "CarModel");
            Equal((decimal?)40m, info.BatteryLevel, "BatteryLevel");
            Equal(null, info.FullyChargedBy, "FullyChargedBy");
        });

        Check("A GET with a trailing slash keeps its Authorization (no redirect) and embeds the info", () =>
        {
            var response = Send(HttpMethod.Get, Device + "/", null, null);
            Status(HttpStatusCode.OK, response);
            var device = JObject.Parse(Text(response));
            Equal("ID.3", (string)device["EvChargingInfo"]["CarModel"], "EvChargingInfo.CarModel");
        });

        Check("A Accept */* answers application/json (the first formatter)", () =>
        {
            var response = Send(HttpMethod.Get, Device, null, null, "*/*");
            Status(HttpStatusCode.OK, response);
            Equal("application/json", MediaType(response), "media type");
        });

        Check("A unknown route is a 404 HttpError with MessageDetail", () =>
        {
            var response = Send(HttpMethod.Get, "api/customers/1/nosuchthing", null, null);
            Status(HttpStatusCode.NotFound, response);
            var error = FromJson<HttpError>(response);
            Expect(!string.IsNullOrEmpty(error.Message), "Message");
            Expect(!string.IsNullOrEmpty(error.MessageDetail), "MessageDetail");
        });

        Check("A invalid body is a 400 HttpError whose ModelState names the field", () =>
        {
            var response = Send(HttpMethod.Post, Device, "{\"BatteryLevel\": 140}", "application/json");
            Status(HttpStatusCode.BadRequest, response);
            var error = FromJson<HttpError>(response);
            Expect(error.ModelState != null && error.ModelState.ContainsKey("request.BatteryLevel"), "ModelState[request.BatteryLevel]");
        });

        Check("A 405 lists every allowed method in Allow", () =>
        {
            var response = Send(new HttpMethod("PATCH"), Device, "{}", "application/json");
            Status(HttpStatusCode.MethodNotAllowed, response);
            var allowed = response.Content.Headers.Allow;
            foreach (var method in new[] { "GET", "PUT", "POST", "DELETE" })
                Expect(allowed.Contains(method), "Allow lists " + method + " (got " + string.Join(", ", allowed) + ")");
        });
    }

    static ChargingOrderRequest Order(string id, int day)
    {
        var start = new DateTime(2025, 11, day, 18, 49, 22, DateTimeKind.Local).AddTicks(9524191);
        return new ChargingOrderRequest
        {
            Id = id,
            ChargingDeviceId = DeviceGuid,
            CustomerId = CustomerGuid,
            StartTime = start,
            EndTime = start.AddHours(1),
            ElectricQuantity = 7.5m,
            DiscountPrice = 3m,
            Remark = "sample string 4",
        };
    }

    static ResultMessage ReadResult(HttpResponseMessage response)
    {
        if (MediaType(response).Contains("xml"))
            return Serializers.FromXml<ResultMessage>(Text(response));
        return JsonConvert.DeserializeObject<ResultMessage>(Text(response));
    }

    static ChargingOrder GetOrder(string id)
    {
        var response = Send(HttpMethod.Get, "api/ChargeOrder/GetOrder?id=" + Uri.EscapeDataString(id), null, null, "application/json");
        Status(HttpStatusCode.OK, response);
        return JsonConvert.DeserializeObject<ChargingOrder>(Text(response));
    }

    static void FamilyB()
    {
        Check("B DataContractSerializer XML order to CreateOrder/ (trailing slash) succeeds; XML Result reads back", () =>
        {
            var response = Send(HttpMethod.Post, CreateOrder + "/", Serializers.Xml(Order("dotnet-xml", 1)), "application/xml");
            Status(HttpStatusCode.OK, response);
            Equal("application/xml", MediaType(response), "reply media type");
            var result = ReadResult(response);
            Equal(MStatusCode.Success, result.Status, "Status");
            Expect(result.Url != null && result.Url.Contains("dotnet-xml"), "Url names the order");
            Expect(result.Errors != null && result.Errors.Count == 0, "no Errors");
            var stored = GetOrder("dotnet-xml");
            Equal((decimal?)7.5m, stored.ElectricQuantity, "ElectricQuantity");
            Equal(Order("dotnet-xml", 1).StartTime.ToUniversalTime(), stored.StartTime.ToUniversalTime(), "StartTime");
        });

        Check("B Json.NET order with the seed's date format succeeds; JSON Result reads back", () =>
        {
            var json = Serializers.Json(Order("dotnet-json", 2), Serializers.FamilyBRequest());
            var response = Send(HttpMethod.Post, CreateOrder, json, "text/json");
            Status(HttpStatusCode.OK, response);
            Equal("text/json", MediaType(response), "reply media type");
            Equal(MStatusCode.Success, ReadResult(response).Status, "status");
        });

        Check("B Json.NET Microsoft dates (\\/Date(ms+0800)\\/) are read", () =>
        {
            var settings = new JsonSerializerSettings { DateFormatHandling = DateFormatHandling.MicrosoftDateFormat };
            var order = Order("dotnet-msdate", 3);
            var json = Serializers.Json(order, settings);
            Expect(json.Contains("\\/Date("), "the client wrote a Microsoft date: " + json);
            var response = Send(HttpMethod.Post, CreateOrder, json, "application/json");
            Status(HttpStatusCode.OK, response);
            var stored = GetOrder("dotnet-msdate");
            Equal(order.StartTime.ToUniversalTime().Ticks / 10000, stored.StartTime.ToUniversalTime().Ticks / 10000, "StartTime (ms)");
        });

        Check("B XML i:nil ElectricQuantity (decimal?) stays null", () =>
        {
            var order = Order("dotnet-nil", 4);
            order.ElectricQuantity = null;
            var xml = Serializers.Xml(order);
            Expect(xml.Contains("i:nil=\"true\""), "the serializer wrote i:nil: " + xml);
            Status(HttpStatusCode.OK, Send(HttpMethod.Post, CreateOrder, xml, "text/xml"));
            Equal(null, GetOrder("dotnet-nil").ElectricQuantity, "ElectricQuantity");
        });

        Check("B invalid XML order: 400 and the XML Result's ValidErrors (backing fields) name the field", () =>
        {
            var order = Order("dotnet-bad", 5);
            order.EndTime = order.StartTime.AddHours(-1);
            var response = Send(HttpMethod.Post, CreateOrder, Serializers.Xml(order), "application/xml");
            Status(HttpStatusCode.BadRequest, response);
            var result = ReadResult(response);
            Equal(MStatusCode.Fail, result.Status, "Status");
            Expect(result.Errors.Any(e => e.Field == "EndTime" && e.ErrorMessages.Count > 0), "Errors name EndTime");
        });

        Check("B Accept */* answers JSON even for an XML body", () =>
        {
            var response = Send(HttpMethod.Post, CreateOrder, Serializers.Xml(Order("dotnet-any", 6)), "application/xml", "*/*");
            Status(HttpStatusCode.OK, response);
            Equal("application/json", MediaType(response), "media type");
            Equal(MStatusCode.Success, ReadResult(response).Status, "status");
        });

        Check("B repeating an order (same Id, same content) answers success again", () =>
        {
            var response = Send(HttpMethod.Post, CreateOrder, Serializers.Xml(Order("dotnet-xml", 1)), "application/xml");
            Status(HttpStatusCode.OK, response);
            Equal(MStatusCode.Success, ReadResult(response).Status, "Status");
        });
    }

    public static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.WriteLine("usage: Client.exe BASE_URL ADMIN_KEY");
            return 2;
        }
        baseUrl = args[0].TrimEnd('/') + "/";
        // HttpClient as the seeds' clients use it: no Accept unless asked, redirects followed.
        http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", args[1]);
        Register();
        FamilyA();
        FamilyB();
        Console.WriteLine(passed + " passed, " + failures + " failed");
        return failures == 0 ? 0 : 1;
    }
}
