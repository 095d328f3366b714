// How the seeds' original servers serialized (formatter settings and the help page's
// pretty-printing), shared by the sample check and the client.
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

public static class Serializers
{
    // Family A: Web API 2's JsonMediaTypeFormatter defaults.
    public static JsonSerializerSettings FamilyA()
    {
        return new JsonSerializerSettings();
    }

    // Family B request: the Util framework's date format for JSON.
    public static JsonSerializerSettings FamilyBRequest()
    {
        var settings = new JsonSerializerSettings();
        settings.Converters.Add(new IsoDateTimeConverter { DateTimeFormat = "yyyy-MM-dd HH:mm:ss" });
        return settings;
    }

    // Family B reply: camelCase keys.
    public static JsonSerializerSettings FamilyBReply()
    {
        return new JsonSerializerSettings { ContractResolver = new CamelCasePropertyNamesContractResolver() };
    }

    public static string Json(object value, JsonSerializerSettings settings)
    {
        return JsonConvert.SerializeObject(value, Formatting.None, settings);
    }

    // DataContractSerializer through an XmlWriter, as Web API's XmlMediaTypeFormatter.
    public static string Xml(object value)
    {
        var serializer = new DataContractSerializer(value.GetType());
        var output = new StringBuilder();
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Encoding = new UTF8Encoding(false) };
        using (var writer = XmlWriter.Create(output, settings))
        {
            serializer.WriteObject(writer, value);
        }
        return output.ToString();
    }

    public static T FromXml<T>(string text)
    {
        var serializer = new DataContractSerializer(typeof(T));
        using (var reader = XmlReader.Create(new StringReader(text)))
        {
            return (T)serializer.ReadObject(reader);
        }
    }

    // The help page's TryFormatJson / TryFormatXml.
    public static string HelpPageJson(string json)
    {
        return JsonConvert.SerializeObject(JsonConvert.DeserializeObject(json), Formatting.Indented);
    }

    public static string HelpPageXml(string xml)
    {
        return XDocument.Parse(xml).ToString();
    }
}
