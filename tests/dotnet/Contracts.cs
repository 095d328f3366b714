// The seeds' own contracts as the original .NET code declared them, so that the
// serializers the help pages used reproduce the seeds' samples byte for byte.
using System;
using System.Collections.Generic;
using System.Runtime.Serialization;
using Newtonsoft.Json;

namespace Util.Applications
{
    // Family B's request inherits Id from the framework's base DTO: DataContractSerializer
    // writes it first, in this CLR namespace's contract namespace.
    public abstract class RequestBase
    {
        public string Id { get; set; }
    }
}

namespace Applications.Services.Dtos.Charge.RequestDto
{
    public class ChargingOrderRequest : Util.Applications.RequestBase
    {
        public Guid ChargingDeviceId { get; set; }
        public Guid CustomerId { get; set; }
        public DateTime StartTime { get; set; }
        public DateTime EndTime { get; set; }
        public decimal? ElectricQuantity { get; set; }
        public decimal DiscountPrice { get; set; }
        public string Remark { get; set; }
    }
}

namespace Applications.WebApi.Common
{
    public enum MStatusCode
    {
        Fail = 0,
        Success = 1,
    }

    // [Serializable] with auto-properties: DataContractSerializer writes the compiler's
    // backing fields (_x003C_Field_x003E_k__BackingField); Json.NET writes the properties.
    [Serializable]
    public class ValidErrors
    {
        public string Field { get; set; }
        public List<string> ErrorMessages { get; set; }
    }

    // JSON names and order from [JsonProperty] (which takes precedence over DataMember's
    // Order in Json.NET); XML names and order from [DataMember].
    [DataContract(Name = "Result")]
    public class ResultMessage
    {
        [JsonProperty("status")]
        [DataMember(Name = "Status", Order = 0)]
        public MStatusCode Status { get; set; }

        [JsonProperty("message")]
        [DataMember(Name = "Message", Order = 1)]
        public string Message { get; set; }

        [JsonProperty("errors")]
        [DataMember(Name = "Errors", Order = 3)]
        public List<ValidErrors> Errors { get; set; }

        [JsonProperty("url")]
        [DataMember(Name = "Url", Order = 2)]
        public string Url { get; set; }
    }
}

namespace EvCharge.Contracts
{
    public enum EvChargingModeEnumReq
    {
        Normal = 0,
        Smart = 1,
        Off = 2,
    }

    public class EvChargingInformationReq
    {
        public EvChargingModeEnumReq ChargingMode { get; set; }
        public bool SmartModeIsActive { get; set; }
        public string CarInfoId { get; set; }
        public string CarManufacturer { get; set; }
        public string CarModel { get; set; }
        public string CarGeneration { get; set; }
        public decimal? GrossBatterySize { get; set; }
        public decimal? NetBatterySize { get; set; }
        public decimal? BatteryLevel { get; set; }
        public DateTime? FullyChargedBy { get; set; }
        public string CustomerId { get; set; }
        public int ContractId { get; set; }
        public int GatewayAssetId { get; set; }
        public int DeviceAssetId { get; set; }
    }

    // What the entity reply adds to the request (evcharge's "the entity as stored").
    public class EvChargingInfo : EvChargingInformationReq
    {
        public Guid Id { get; set; }
        public int Version { get; set; }
        public DateTime Created { get; set; }
    }
}
